"""Candidate evidence sentences of the retrieved passages, and the features a fitted model scores.

Every sentence of the passages (``rag.sentences``) is a candidate, seen with its neighbours.
Features: meaning (cosine of the question to the sentence, to the sentence in context, and to the
sentence after its passage's heading, which on API pages names the function it describes), wording
weighted by the corpus's BM25 idf (sentence, window, rarest term, word pairs, names; never plain
coverage, which in a corpus about one topic counts the topic's own words),
the passage (retrieval score, rank, position), the sentence (length, new words) and answer type
(the question's kind crossed with a new phrase of the wanted group). The weights are fitted on
public data (``rag.eval.answer_fit``), not chosen by hand.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from ..chunking import SECTION_SEPARATOR
from ..sentences import sentence_spans
from ..store.lexical import tokenize
from ..types import Passage
from .entities import entities
from .kinds import WANTED, Phrase, is_new, nearness, question_kind, typed_phrases

if TYPE_CHECKING:
    import numpy as np

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
MIN_WORDS = 3  # shorter scraps (headings, labels) are not answers
# Light verbs and question scaffolding: "who gave the opening address" asks about the address, not about giving.
LIGHT_WORDS = (
    "give", "gave", "given", "giving", "make", "made", "making", "take", "took", "taken", "hold", "held", "get",
    "got", "put", "set", "go", "went", "come", "came", "have", "had", "say", "said", "use", "used", "call", "called",
    "name", "named", "mention", "mentioned", "accord", "according", "describe", "described", "refer", "referred",
    "happen", "happened", "who", "whom", "whose", "what", "which", "when", "where", "why", "how",
)

FEATURES = (
    "cos_sent", "cos_win", "cos_sent_rel", "cos_win_rel", "cos_head", "cos_head_rel",
    "bm25_sent", "bm25_win", "bm25_sent_raw", "bm25_sent_rel",
    "rare_hit_sent", "rare_hit_win",
    "p_score", "p_score_rel", "p_rank_1", "p_rank", "pos_first", "pos_rel", "log_len",
    "n_new_terms", "has_new_terms", "new_share", "ent_novel_any",
    "bigram_hit", "q_caps_hit", "log_span", "is_best_cos", "is_best_bm25", "is_best_cos_win",
    "log_rank_cos", "log_rank_bm25", "cos_x_bm25", "bm25_ctx_gain", "heading_hit", "focus_sent", "focus_win", "qualifier_hit",
    "qualifier_other", "label_hit", "label_hit_rel",
    *(f"match_{kind}" for kind in WANTED), "match_near",
)


@dataclass(frozen=True)
class Candidate:
    """One sentence of one passage: ``passage.clean_text[start:end]``."""

    passage_index: int
    start: int  # offsets in passage.clean_text
    end: int
    text: str  # whitespace collapsed
    window: str  # with the previous and next sentence of the same passage
    headed: str  # after its passage's own heading ("json.loads(s, ...): Deserialize s ..."), or its title
    position: int  # sentence number in its paragraph, from 0 (a chunk may start or end inside a paragraph)
    siblings: int  # sentences of its paragraph in the passage
    label: str = ""  # the entry it belongs to: the last label line above it ("Path.rmdir()"), else its heading


@dataclass
class Candidates:
    """A question's candidates, their feature matrix (columns ``FEATURES``) and question-level figures."""

    question: str
    kind: str
    items: list[Candidate]
    matrix: np.ndarray
    phrases: list[list[Phrase]]  # new phrases of each candidate
    terms: tuple[str, ...]
    summary: dict[str, float] = field(default_factory=dict)  # question-level quantities for abstention


@lru_cache(maxsize=100_000)
def _terms(text: str) -> tuple[str, ...]:
    return tuple(tokenize(text))


@lru_cache(maxsize=1)
def _light() -> frozenset[str]:
    return frozenset(_terms(" ".join(LIGHT_WORDS)))


def question_terms(question: str) -> tuple[str, ...]:
    """The question's content terms, once each: BM25 terms less light verbs and scaffolding."""
    terms = tuple(dict.fromkeys(_terms(question)))
    content = tuple(term for term in terms if term not in _light())
    return content or terms


# A quotable sentence ends like one: headings, code lines, signatures and table rows do not.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_CODE_START = re.compile(r"^(?:>>>|\.\.\.|\$ |#|//)")


def is_prose(text: str) -> bool:
    """A sentence of prose: three words or more, ending with sentence punctuation, not a prompt or a comment."""
    return len(text.split()) >= MIN_WORDS and bool(_SENTENCE_END.search(text)) and not _CODE_START.match(text)


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """Every prose sentence of the passages (not the title), each once even where chunks overlap; every
    sentence of three words or more when the passages hold no prose at all."""
    found = _candidates(passages, is_prose)
    return found or _candidates(passages, lambda text: len(text.split()) >= MIN_WORDS)


def _candidates(passages: Sequence[Passage], keep: Callable[[str], bool]) -> list[Candidate]:
    found, seen = [], set()
    for number, passage in enumerate(passages):
        title = passage.title.strip()
        heading = passage.section.split(SECTION_SEPARATOR)[-1].strip() or title
        spans = []
        for start, end in sentence_spans(passage.clean_text):
            text = " ".join(passage.clean_text[start:end].split())
            if keep(text) and text != title and (passage.doc_id, text) not in seen:
                seen.add((passage.doc_id, text))
                spans.append((start, end, text))
        breaks = [match.end() for match in _PARAGRAPH_BREAK.finditer(passage.clean_text)]
        paragraphs = [bisect_right(breaks, start) for start, _, _ in spans]
        labels = _labels(passage.clean_text, breaks)
        label_starts = [at for at, _ in labels]
        for position, (start, end, text) in enumerate(spans):
            window = " ".join(span[2] for span in spans[max(0, position - 1) : position + 2])
            paragraph = paragraphs[position]  # non-decreasing: a paragraph's sentences are consecutive
            above = bisect_right(label_starts, start)  # label lines that start before the sentence
            label = labels[above - 1][1] if above else heading
            found.append(Candidate(number, start, end, text, window, f"{heading}: {text}",
                                   position - paragraphs.index(paragraph), paragraphs.count(paragraph), label))
    return found


def _labels(text: str, breaks: list[int]) -> list[tuple[int, str]]:
    """Label lines with their offsets: paragraphs of one short line that are not prose nor code, as API pages
    open each entry ("Path.rmdir()", "class json.JSONDecoder(*, object_hook=None)") and glossaries each term."""
    found = []
    for start, end in zip([0, *breaks], [*breaks, len(text)]):
        line = text[start:end].strip()
        if (line and "\n" not in line and len(line) <= 160 and not line.endswith(":") and not is_prose(line)
                and not _CODE_START.match(line)):  # "... the following pattern:" introduces, it does not label
            found.append((start, " ".join(line.split())))
    return found


def extract(question: str, passages: Sequence[Passage], embed: Callable[[Sequence[str]], np.ndarray],
            idf: Callable[[Sequence[str]], Mapping[str, float]]) -> Candidates:
    """The candidates of ``passages`` for ``question`` with their features."""
    import numpy as np

    items = candidates(passages)
    kind = question_kind(question)
    terms = question_terms(question)
    if not items:
        return Candidates(question, kind, items, np.zeros((0, len(FEATURES)), np.float32), [], terms)
    count = len(items)
    weights_of = idf(terms)
    weights = np.array([weights_of[term] for term in terms], dtype=np.float64)
    total = weights.sum() or 1.0
    rare = int(np.argmax(weights)) if terms else -1
    asked = set(terms)
    vectors = embed([question] + [item.text for item in items] + [item.window for item in items]
                    + [item.headed for item in items])
    query, sentence_vectors = vectors[0], vectors[1 : count + 1]
    window_vectors, headed_vectors = vectors[count + 1 : 2 * count + 1], vectors[2 * count + 1 :]
    cos_sentence, cos_window, cos_headed = sentence_vectors @ query, window_vectors @ query, headed_vectors @ query
    sentence_terms = [set(_terms(item.text)) for item in items]
    window_terms = [set(_terms(item.window)) for item in items]
    hits = np.array([[term in found for term in terms] for found in sentence_terms], dtype=np.float64).reshape(count, -1)
    window_hits = np.array([[term in found for term in terms] for found in window_terms],
                           dtype=np.float64).reshape(count, -1)
    bm25_sentence, bm25_window = hits @ weights, window_hits @ weights
    new_terms = np.array([len(found - asked) for found in sentence_terms], dtype=np.float64)
    scores = np.array([passages[item.passage_index].score for item in items], dtype=np.float64)
    ranks = np.array([passages[item.passage_index].rank for item in items], dtype=np.float64)
    top_score = max(passage.score for passage in passages)
    lower = question.lower()
    named = entities([item.text for item in items])
    phrases = [[phrase for phrase in typed_phrases(item.text, found) if is_new(phrase.text, lower, asked)]
               for item, found in zip(items, named)]
    wanted = WANTED.get(kind)
    match = np.array([bool(wanted) and any(wanted in phrase.groups for phrase in found) for found in phrases], dtype=float)
    # the passage's title and heading path: "json.loads(...)" for API docs, the article title for others
    heading_terms = [set(_terms(f"{passage.title} {passage.section}")) for passage in passages]
    # word pairs of the question, less those the passage's headings already hold: in a corpus about one
    # topic, "city and county" matches every sentence of the article titled after it
    pairs = set(zip(terms, terms[1:]))
    focus_pairs = [{pair for pair in pairs if not set(pair) <= heading} for heading in heading_terms]
    body = question.split(None, 1)[1] if " " in question else ""
    capitals = {word.lower() for word in re.findall(r"\b[A-Z][\w'-]+", body)}
    pair_hits, capital_hits, spread = [], [], []
    for item in items:
        words = _terms(item.text)
        own = focus_pairs[item.passage_index]
        pair_hits.append(len(own & set(zip(words, words[1:]))) / max(1, len(own)))
        present = {word.lower() for word in re.findall(r"[\w'-]+", item.text)}
        capital_hits.append(len(capitals & present) / len(capitals) if capitals else 0.0)
        where = [number for number, word in enumerate(words) if word in asked]
        spread.append(math.log((max(where) - min(where) + 1) / len(where)) if len(where) >= 2
                      else math.log(3.0 if where else 5.0))
    rank_cos, rank_bm25 = _rank(cos_sentence), _rank(bm25_sentence)
    heading_hits = [np.array([term in found for term in terms], dtype=np.float64).reshape(-1) for found in heading_terms]
    # the question's focus: its terms that the passage's title and headings do not already answer for
    # ("who gave the opening speech" at a page titled after the course asks about "opening speech"),
    # among those the passages hold at all (a word they never use cannot tell their sentences apart)
    held = np.array([any(term in found for found in window_terms) for term in terms], dtype=np.float64)
    focus = np.array([1.0 - heading_hits[item.passage_index] for item in items]).reshape(count, -1) * weights * held
    focus_total = np.maximum(focus.sum(axis=1), 1e-9)
    # years and ordinals the question names ("the second course", "in 2021"), against those around each sentence
    asked_qualifiers = qualifiers(question)
    # a document's own date counts: "the 2024 course" is told by a page dated 2024-01-30 that never says "2024"
    contexts = [qualifiers(f"{passages[item.passage_index].title} {passages[item.passage_index].date or ''} {item.window}")
                for item in items]
    label_terms = [set(_terms(item.label)) for item in items]
    label_hit = np.array([[term in found for term in terms] for found in label_terms],
                         dtype=np.float64).reshape(count, -1) @ weights / total
    columns = {
        "cos_sent": cos_sentence, "cos_win": cos_window, "cos_sent_rel": cos_sentence - cos_sentence.max(),
        "cos_win_rel": cos_window - cos_window.max(), "cos_head": cos_headed, "cos_head_rel": cos_headed - cos_headed.max(),
        "bm25_sent": bm25_sentence / total, "bm25_win": bm25_window / total,
        "bm25_sent_raw": bm25_sentence, "bm25_sent_rel": (bm25_sentence - bm25_sentence.max()) / total,
        "rare_hit_sent": hits[:, rare] if rare >= 0 else np.zeros(count),
        "rare_hit_win": window_hits[:, rare] if rare >= 0 else np.zeros(count),
        "p_score": scores, "p_score_rel": scores - top_score, "p_rank_1": (ranks == 1).astype(float), "p_rank": ranks,
        "pos_first": np.array([item.position == 0 for item in items], dtype=float),
        "pos_rel": np.array([item.position / max(1, item.siblings - 1) for item in items]),
        "log_len": np.log1p([len(item.text.split()) for item in items]), "n_new_terms": np.log1p(new_terms),
        "has_new_terms": (new_terms >= 2).astype(float),
        "new_share": new_terms / np.maximum(1, [len(found) for found in sentence_terms]),
        "ent_novel_any": np.array([bool(found) for found in phrases], dtype=float),
        "bigram_hit": np.array(pair_hits), "q_caps_hit": np.array(capital_hits), "log_span": np.array(spread),
        "is_best_cos": (rank_cos == 0).astype(float), "is_best_bm25": (rank_bm25 == 0).astype(float),
        "is_best_cos_win": (_rank(cos_window) == 0).astype(float), "log_rank_cos": np.log1p(rank_cos),
        "log_rank_bm25": np.log1p(rank_bm25), "cos_x_bm25": cos_sentence * bm25_sentence / total,
        "bm25_ctx_gain": (bm25_window - bm25_sentence) / total,
        "heading_hit": np.array([heading_hits[item.passage_index] for item in items]) @ weights / total,
        "focus_sent": (hits * focus).sum(axis=1) / focus_total, "focus_win": (window_hits * focus).sum(axis=1) / focus_total,
        "qualifier_hit": np.array([_share(asked_qualifiers, contexts[number]) for number in range(count)]),
        "qualifier_other": np.array([float(bool(asked_qualifiers) and bool(contexts[number] - asked_qualifiers))
                                     for number in range(count)]),
        "label_hit": label_hit, "label_hit_rel": label_hit - label_hit.max(),
        "match_near": np.array([nearness(item.text, found, wanted, asked) if wanted else 0.0
                                for item, found in zip(items, phrases)]),
        **{f"match_{name}": match if name == kind else np.zeros(count) for name in WANTED},
    }
    matrix = np.column_stack([columns[name] for name in FEATURES]).astype(np.float32)
    seen_terms = set().union(*window_terms)
    found = np.array([term in seen_terms for term in terms], dtype=float)
    ordered_scores = sorted(passage.score for passage in passages)
    summary = {
        "q_idf_found": float(found @ weights / total) if terms else 0.0,
        "q_rare_found": float(found[rare]) if rare >= 0 else 0.0,
        "q_missing_max_idf": float(max([w for w, hit in zip(weights, found) if not hit], default=0.0)),
        "top_score": top_score, "max_cos": float(cos_sentence.max()), "max_cos_win": float(cos_window.max()),
        "max_bm25": float(bm25_sentence.max() / total), "n_q_terms": float(len(terms)),
        "agree": float(np.argmax(cos_sentence) == np.argmax(bm25_sentence)), "any_match": float(match.max()),
        "score_gap12": ordered_scores[-1] - ordered_scores[-2] if len(ordered_scores) > 1 else 0.0,
    }
    return Candidates(question, kind, items, matrix, phrases, terms, summary)


_QUALIFIER = re.compile(r"\b(?:1\d{3}|20\d\d|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
                        r"last|inaugural|\d+(?:st|nd|rd|th))\b", re.IGNORECASE)


def qualifiers(text: str) -> set[str]:
    """Years and ordinals in ``text``, lower-cased ("inaugural" is "first")."""
    return {word.lower().replace("inaugural", "first") for word in _QUALIFIER.findall(text)}


def _share(asked: set[str], found: set[str]) -> float:
    return len(asked & found) / len(asked) if asked else 0.0


def _rank(values: np.ndarray) -> np.ndarray:
    """0 for the largest value (the first wins ties), 1 for the next, ..."""
    import numpy as np

    return np.argsort(np.argsort(-values, kind="stable"), kind="stable").astype(float)
