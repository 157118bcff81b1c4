"""Grounded answers: the sentence in the retrieved passages that answers the question, cited.

The offline answerer never writes a word that is not in a cited passage: it picks the
evidence sentence by meaning (embedding similarity), wording (shared terms) and the kind of
fact asked for (who, when, where, how many), and abstains when no sentence offers that kind of
fact or the question's key terms are nowhere in the passages. With an LLM configured, the
LLM writes the answer from the numbered passages and every marker is checked afterwards.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .lexical import tokenize
from .markup import clean_markup
from .questions import fits_kind, has_person, names, qualifiers, question_kind, search_query
from .types import Answer, Citation, Passage

if TYPE_CHECKING:
    from .index import Index

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[*A-Z0-9])|\n\s*\n|\n(?=[A-Z#*\-])")


@dataclass(frozen=True)
class AnswerPolicy:
    """Weights and the abstention threshold, chosen on eval/seeds.jsonl (README, Evaluation)."""

    similarity_weight: float = 1.0  # cosine of the sentence to the question
    overlap_weight: float = 1.0  # share of the question's rare terms (IDF-weighted) in the sentence
    min_score: float = 0.45  # below this the best sentence does not answer: abstain
    person_bonus: float = 0.1  # for who-questions, a sentence naming someone new
    second_sentence: float = 0.9  # a second sentence is added when it scores this close to the best
    max_sentences: int = 2


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries in ``text`` as ``(start, end)``, whitespace trimmed."""
    spans, position = [], 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[position:end]
        stripped = piece.strip()
        if stripped:
            offset = position + piece.index(stripped)
            spans.append((offset, offset + len(stripped)))
        position = match.end() if match else len(text)
    return spans


@dataclass(frozen=True)
class _Candidate:
    passage_index: int
    start: int  # offsets in the source file
    end: int
    raw: str
    clean: str
    score: float = 0.0


def offline_answer(index: Index, question: str, passages: Sequence[Passage], query: str,
                   policy: AnswerPolicy = AnswerPolicy()) -> Answer:
    """Pick and cite the evidence sentence, or abstain."""
    kind = question_kind(question)
    required = qualifiers(query) + [name.lower() for name in names(query)]
    in_scope = [number for number, passage in enumerate(passages) if _mentions(passage, required)]
    candidates = [c for c in _sentences(passages) if c.passage_index in in_scope and fits_kind(kind, c.clean)]
    if not candidates:
        return _abstain(question, passages, query, f"no {kind} sentence in passages mentioning {required}")
    ranked = _score(index, question, query, candidates, [p.title for p in passages], policy)
    best = ranked[0]
    if best.score < policy.min_score:
        return _abstain(question, passages, query, f"best sentence scores {best.score:.2f}", best.score)
    chosen = [best] + [c for c in ranked[1 : policy.max_sentences] if c.score >= policy.second_sentence * best.score]
    return replace(_cite(question, passages, chosen, query), meta={"kind": kind, "score": round(best.score, 3)})


def _mentions(passage: Passage, required: Sequence[str]) -> bool:
    context = f"{passage.title} {passage.date or ''} {passage.clean_text}".lower()
    return all(re.search(rf"\b{re.escape(term)}\b", context) for term in required)


def _sentences(passages: Sequence[Passage]) -> list[_Candidate]:
    """Every body sentence of the passages; headlines and scraps of a few words are not answers."""
    found, seen = [], set()
    for number, passage in enumerate(passages):
        for start, end in sentence_spans(passage.text):
            raw = passage.text[start:end]
            clean = " ".join(clean_markup(raw).text.split())
            where = (passage.source, passage.start + start)  # overlapping chunks share sentences
            if len(clean.split()) >= 5 and clean not in passage.title and where not in seen:
                seen.add(where)
                found.append(_Candidate(number, passage.start + start, passage.start + end, raw, clean))
    return found


def _score(index: Index, question: str, query: str, candidates: Sequence[_Candidate], titles: Sequence[str],
           policy: AnswerPolicy) -> list[_Candidate]:
    """Meaning plus rare shared words: terms found in most candidate sentences count for little."""
    vectors = index.embed_cached([candidate.clean for candidate in candidates])
    similarity = vectors @ index.embed_query(query)
    terms = [set(tokenize(candidate.clean)) for candidate in candidates]
    asked = set(tokenize(query))
    weight = {term: math.log(1 + len(candidates) / (1 + sum(term in t for t in terms))) for term in asked}
    total = sum(weight.values()) or 1.0
    known = {word.lower() for word in re.findall(r"\w+", query + " " + " ".join(titles))}
    person_bonus = policy.person_bonus if question_kind(question) == "who" else 0.0
    scored = [
        replace(candidate, score=policy.similarity_weight * float(similarity[row])
                + policy.overlap_weight * sum(weight[term] for term in asked & terms[row]) / total
                + person_bonus * has_person(candidate.clean, known))
        for row, candidate in enumerate(candidates)
    ]
    return sorted(scored, key=lambda candidate: -candidate.score)


def _cite(question: str, passages: Sequence[Passage], chosen: Sequence[_Candidate], query: str) -> Answer:
    cited: list[Passage] = []
    sentences, citations = [], []
    for candidate in sorted(chosen, key=lambda c: (c.passage_index, c.start)):
        passage = passages[candidate.passage_index]
        if passage not in cited:
            cited.append(passage)
        marker = cited.index(passage) + 1
        sentences.append(f"{candidate.clean} [{marker}]")
        citations.append(Citation(marker, candidate.start, candidate.end, candidate.raw))
    return Answer(question=question, text=" ".join(sentences), passages=tuple(cited), abstained=False,
                  citations=tuple(citations), search_query=query)


def _abstain(question: str, passages: Sequence[Passage], query: str, reason: str, score: float = 0.0) -> Answer:
    log.info("abstaining on %r: %s", question, reason)
    text = "The documents do not say. Nothing in them answers this question"
    text += "; the closest passages are listed as possibly related." if passages else "."
    return Answer(question=question, text=text, passages=(), abstained=True, related=tuple(passages[:3]),
                  search_query=query, meta={"reason": reason, "score": round(score, 3)})


def answer_stream(index: Index, question: str, k: int = 5, mode: str | None = None,
                  history: Sequence[str] = ()) -> Iterator[Answer]:
    """Answers of growing text (tokens as an LLM streams them); the last one is final and checked."""
    question = index.check_question(question)
    query = search_query(question, history)
    passages = index.search(query, k=k, mode=mode)
    offline = offline_answer(index, question, passages, query)
    settings = index.settings
    if not (settings.llm_base_url and settings.llm_model) or not passages:
        yield offline
        return
    yield from _llm_answer(index, question, passages, query, offline, history)


def _llm_answer(index: Index, question: str, passages: Sequence[Passage], query: str, offline: Answer,
                history: Sequence[str]) -> Iterator[Answer]:
    from .errors import LLMError
    from .llm import LLMClient, build_messages, check_citations

    settings = index.settings
    client = LLMClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)
    pieces: list[str] = []
    try:
        for piece in client.stream(build_messages(question, passages, [(q, "") for q in history])):
            pieces.append(piece)
            yield Answer(question=question, text="".join(pieces), passages=tuple(passages), abstained=False,
                         search_query=query, meta={"partial": True})
    except LLMError as error:
        yield replace(offline, notice=f"The LLM failed ({error}); this is the offline answer.")
        return
    checked = check_citations("".join(pieces), len(passages))
    yield _renumber(question, checked.text, passages, checked.cited, checked.grounded, query)


def _renumber(question: str, text: str, passages: Sequence[Passage], cited: Sequence[int], grounded: bool,
              query: str) -> Answer:
    """Markers become 1..n in order of first use, so ``[n]`` is ``passages[n - 1]`` of the answer."""
    order = [int(number) for number in dict.fromkeys(re.findall(r"\[(\d+)\]", text)) if int(number) in cited]
    mapping = {old: new for new, old in enumerate(order, 1)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping[int(m.group(1))]}]" if int(m.group(1)) in mapping else "", text)
    abstained = "do not say" in text.lower() and not order
    notice = None if grounded or abstained else "This answer cites no passage: treat it as ungrounded."
    cited_passages = tuple(passages[old - 1] for old in order)
    return Answer(question=question, text=text, passages=cited_passages, abstained=abstained,
                  citations=tuple(_evidence(text, marker, passage) for marker, passage in enumerate(cited_passages, 1)),
                  related=tuple(passages[:3]) if abstained else (), grounded=grounded or abstained, notice=notice,
                  search_query=query)


def _evidence(text: str, marker: int, passage: Passage) -> Citation:
    """The sentence of ``passage`` that shares most terms with the answer's sentences citing ``[marker]``."""
    claims = set(tokenize(" ".join(s for s in re.split(r"(?<=[.!?])\s+", text) if f"[{marker}]" in s)))
    spans = sentence_spans(passage.text) or [(0, len(passage.text))]
    start, end = max(spans, key=lambda span: len(claims & set(tokenize(passage.text[span[0] : span[1]]))))
    return Citation(marker, passage.start + start, passage.start + end, passage.text[start:end])
