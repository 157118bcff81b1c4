"""The offline answerer: the sentence of the retrieved passages that answers the question, cited,
opened by the short answer when the question asks for a value; or a plain abstention.

It never writes a word that is not in a cited passage. Which sentence answers, and whether any
does, is decided by a model fitted on public data (``rag.answer.model``); question kinds and
answer types are features of that model, never filters.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..types import Answer, Citation, Passage
from . import entities
from .features import Candidate, Candidates, extract
from .kinds import counted, short_answer
from .model import AnswerModel, load_model
from .reader import Reader

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

ABSTENTION = "The documents do not say. Nothing in them answers this question"


def warm() -> None:
    """Load the fitted answerer and its entity model now rather than at the first question."""
    load_model()
    entities.warm()


def offline_answer(reader: Reader, question: str, passages: Sequence[Passage], query: str,
                   model: AnswerModel | None = None, read_as: str | None = None) -> Answer:
    """Pick and cite the evidence sentence (a second one when the first is uncertain), or abstain.

    ``read_as`` is what the sentences are scored against when it is not the question as typed: a follow-up
    read with the previous question ("And who gave lectures there? (Who opened the 2024 course?)")."""
    model = model or load_model()
    if not passages:
        return abstain(question, passages, query, 0.0)
    found = extract(read_as or question, passages, reader.embed, reader.idf)
    if not found.items:
        return abstain(question, passages, query, 0.0)
    probabilities = model.probabilities(found)
    holds = model.holds_answer(found, probabilities)
    asked = found
    if read_as and read_as != question:  # a follow-up: the sentence is chosen by both readings at once
        asked = extract(question, passages, reader.embed, reader.idf)
        probabilities = _product(probabilities, model.probabilities(asked))
    log.debug("%r: %s question, best sentence p=%.2f, passages hold the answer p=%.2f", question, found.kind,
              probabilities.max(), holds)
    if holds < model.threshold:
        return abstain(question, passages, query, holds)
    return _cite(reader, question, passages, asked, model.quoted(asked, probabilities), query, holds)


def _product(in_context: np.ndarray, alone: np.ndarray) -> np.ndarray:
    """A product of experts: the reading in context knows what "it" is, the question alone knows what is
    newly asked ("And who attended it?" after a question on dates), and its kind ("And on what date?").
    On follow-ups made from SQuAD questions (``python -m rag.eval.followups``) this answers right more often
    than the reading in context alone."""
    joint = in_context * alone
    return joint / joint.sum()


def _cite(reader: Reader, question: str, passages: Sequence[Passage], found: Candidates, chosen: Sequence[int],
          query: str, confidence: float) -> Answer:
    """The reply: the short answer (if any) and the evidence sentences in document order, each with ``[n]``."""
    best = found.items[chosen[0]]
    short = short_answer(found.kind, best.text, found.phrases[chosen[0]], set(found.terms), counted(question))
    cited: list[Passage] = []
    pieces, citations = [], []
    for number in sorted(chosen, key=lambda n: (found.items[n].passage_index, found.items[n].start)):
        item = found.items[number]
        passage = passages[item.passage_index]
        if passage not in cited:
            cited.append(passage)
        marker = cited.index(passage) + 1
        pieces.append(f"{item.text} [{marker}]")
        citations.append(_citation(reader, passage, item, marker, short if item is best else None))
    text = " ".join(pieces)
    return Answer(question=question, text=f"{short} — {text}" if short else text, passages=tuple(cited),
                  abstained=False, citations=tuple(citations), search_query=query, confidence=round(confidence, 3))


def _citation(reader: Reader, passage: Passage, item: Candidate, marker: int, short: str | None) -> Citation:
    start, end = reader.raw_span(passage, item.start, item.end)
    answer_start = answer_end = None
    if short:
        at = passage.clean_text.find(short, item.start, item.end)
        if at >= 0:
            answer_start, answer_end = reader.raw_span(passage, at, at + len(short))
    text = passage.text[start - passage.start : end - passage.start]
    return Citation(marker, start, end, text, answer_start, answer_end)


def abstain(question: str, passages: Sequence[Passage], query: str, confidence: float) -> Answer:
    """The plain "the documents do not say", with the closest passages listed as possibly related."""
    text = ABSTENTION + ("; the closest passages are listed as possibly related." if passages else ".")
    return Answer(question=question, text=text, passages=(), abstained=True, related=tuple(passages[:3]),
                  search_query=query, confidence=round(confidence, 3))
