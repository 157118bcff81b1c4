"""One question to one answer: the follow-up reading, retrieval, the offline answer, then the LLM if any."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..retriever import check_question
from ..types import Answer
from .followup import contextual_query
from .offline import offline_answer
from .reader import Reader


def answer_stream(reader: Reader, question: str, k: int = 5, mode: str | None = None,
                  history: Sequence[str] = ()) -> Iterator[Answer]:
    """Answers of growing text (tokens as an LLM streams them); the last one is final and checked."""
    question = check_question(question, reader.settings.max_question_chars)
    passages = reader.search(question, k=k, mode=mode, rerank=False)
    offline = offline_answer(reader, question, passages, question)
    contextual = contextual_query(question, history)
    if contextual is not None:  # the previous turn as context, kept only when it answers better
        passages_in_context = reader.search(contextual, k=k, mode=mode, rerank=False)
        in_context = offline_answer(reader, question, passages_in_context, contextual, read_as=contextual)
        if (in_context.confidence or 0.0) > (offline.confidence or 0.0):
            passages, offline = passages_in_context, in_context
    settings = reader.settings
    if not (settings.llm_base_url and settings.llm_model) or not passages:
        yield offline
        return
    from .grounded import llm_answer

    yield from llm_answer(reader, question, passages, offline.search_query, offline, history)
