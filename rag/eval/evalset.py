"""Eval sets: JSONL questions with answers and verbatim evidence quotes (format: eval/README.md).

Relevance is judged by span, never by chunk id: a passage is relevant when its ``[start, end)``
overlaps an evidence quote located in the same file's text, so the same eval set scores any
chunking.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import RagError
from ..types import Passage

DEFAULT_EVAL_SET = "eval/seeds.jsonl"
_FIELDS = {"id", "question", "answers", "evidence", "answerable", "kind", "follows"}


class EvalSetError(RagError):
    """An eval set that cannot be read, or whose evidence is not in the index."""


@dataclass(frozen=True)
class Evidence:
    source: str  # file path as indexed (the document id)
    quote: str  # verbatim text of that file


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answerable: bool
    kind: str
    follows: str | None = None


def load_eval_set(path: str | Path) -> list[EvalQuestion]:
    """Read and check a JSONL eval set (format: eval/README.md)."""
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f"No eval set at {path}: pass the path of a JSONL file such as {DEFAULT_EVAL_SET}.")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if set(record) != _FIELDS:
                raise ValueError(f"fields must be {sorted(_FIELDS)}")
            question = EvalQuestion(
                id=str(record["id"]), question=record["question"], answers=tuple(record["answers"]),
                evidence=tuple(Evidence(item["source"], item["quote"]) for item in record["evidence"]),
                answerable=bool(record["answerable"]), kind=record["kind"], follows=record["follows"])
        except (ValueError, KeyError, TypeError) as error:
            raise EvalSetError(f"{path}, line {number}, is not a valid eval question ({error}).") from None
        if question.id in seen or (question.follows is not None and question.follows not in seen):
            raise EvalSetError(f"{path}, line {number}: id {question.id} is repeated or follows a later question.")
        if question.answerable and not question.evidence:
            raise EvalSetError(f"{path}, line {number}: answerable question {question.id} has no evidence.")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise EvalSetError(f"The eval set {path} holds no questions.")
    return questions


Span = tuple[str, int, int]  # source, start, end in the source's text


def evidence_spans(document_text: Callable[[str], str | None], question: EvalQuestion) -> list[Span]:
    """Where each evidence quote stands in its file's text as indexed (``str.find``, first occurrence)."""
    spans = []
    for evidence in question.evidence:
        text = document_text(evidence.source)
        if text is None:
            raise EvalSetError(f"{question.id}: {evidence.source} is not in the index; index the folder the eval set "
                               "was written for, or pass --index.")
        start = text.find(evidence.quote)
        if start < 0:
            raise EvalSetError(f"{question.id}: its evidence quote is not in {evidence.source} as indexed; "
                               "the file changed since the eval set was written.")
        spans.append((evidence.source, start, start + len(evidence.quote)))
    return spans


def span_matches(passages: Sequence[Passage], spans: Sequence[Span]) -> list[frozenset[int]]:
    """For each passage, the positions in ``spans`` of the evidence it overlaps (same file, shared characters)."""
    return [frozenset(number for number, (source, start, end) in enumerate(spans)
                      if passage.source == source and passage.start < end and start < passage.end)
            for passage in passages]
