"""The offline answerer: the sentence in the retrieved passages that answers the question, cited.

It never writes a word that is not in a cited passage: it picks the evidence sentence by
meaning (embedding similarity), wording (shared terms) and the kind of fact asked for (who,
when, where, how many), and abstains when no sentence offers that kind of fact or the
question's key terms are nowhere in the passages.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..sentences import sentence_spans
from ..store.lexical import tokenize
from ..types import Answer, Citation, Passage
from .questions import fits_kind, has_person, names, qualifiers, question_kind
from .reader import Reader

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class AnswerPolicy:
    """Weights and the abstention threshold, chosen on eval/seeds.jsonl (README, Evaluation)."""

    similarity_weight: float = 1.0  # cosine of the sentence to the question
    overlap_weight: float = 1.0  # share of the question's rare terms (IDF-weighted) in the sentence
    min_score: float = 0.45  # below this the best sentence does not answer: abstain
    person_bonus: float = 0.1  # for who-questions, a sentence naming someone new
    second_sentence: float = 0.9  # a second sentence is added when it scores this close to the best
    max_sentences: int = 2


@dataclass(frozen=True)
class _Candidate:
    passage_index: int
    start: int  # offsets in the source file
    end: int
    raw: str
    clean: str
    score: float = 0.0


def offline_answer(reader: Reader, question: str, passages: Sequence[Passage], query: str,
                   policy: AnswerPolicy = AnswerPolicy()) -> Answer:
    """Pick and cite the evidence sentence, or abstain."""
    kind = question_kind(question)
    required = qualifiers(query) + [name.lower() for name in names(query)]
    in_scope = [number for number, passage in enumerate(passages) if _mentions(passage, required)]
    candidates = [c for c in _sentences(reader, passages) if c.passage_index in in_scope and fits_kind(kind, c.clean)]
    if not candidates:
        return _abstain(question, passages, query, f"no {kind} sentence in passages mentioning {required}")
    ranked = _score(reader, question, query, candidates, [p.title for p in passages], policy)
    best = ranked[0]
    if best.score < policy.min_score:
        return _abstain(question, passages, query, f"best sentence scores {best.score:.2f}", best.score)
    chosen = [best] + [c for c in ranked[1 : policy.max_sentences] if c.score >= policy.second_sentence * best.score]
    log.debug("answering %r as a %s question, evidence score %.3f", question, kind, best.score)
    return replace(_cite(question, passages, chosen, query), confidence=round(best.score, 3))


def _mentions(passage: Passage, required: Sequence[str]) -> bool:
    context = f"{passage.title} {passage.date or ''} {passage.clean_text}".lower()
    return all(re.search(rf"\b{re.escape(term)}\b", context) for term in required)


def _sentences(reader: Reader, passages: Sequence[Passage]) -> list[_Candidate]:
    """Every body sentence of the passages; headlines and scraps of a few words are not answers."""
    found, seen = [], set()
    for number, passage in enumerate(passages):
        for clean_start, clean_end in sentence_spans(passage.clean_text):
            clean = " ".join(passage.clean_text[clean_start:clean_end].split())
            if len(clean.split()) < 5 or clean in passage.title:
                continue
            start, end = reader.raw_span(passage, clean_start, clean_end)
            where = (passage.source, start)  # overlapping chunks share sentences
            if where not in seen:
                seen.add(where)
                found.append(_Candidate(number, start, end, passage.text[start - passage.start : end - passage.start],
                                        clean))
    return found


def _score(reader: Reader, question: str, query: str, candidates: Sequence[_Candidate], titles: Sequence[str],
           policy: AnswerPolicy) -> list[_Candidate]:
    """Meaning plus rare shared words: terms found in most candidate sentences count for little."""
    vectors = reader.embed([candidate.clean for candidate in candidates])
    similarity = vectors @ reader.embed([query])[0]
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
                  search_query=query, confidence=round(score, 3))
