"""One question to one answer: the follow-up reading, retrieval, the offline answer, then the LLM if any."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..retriever import check_question
from ..types import Answer
from .offline import offline_answer
from .questions import search_query
from .reader import Reader


def answer_stream(reader: Reader, question: str, k: int = 5, mode: str | None = None,
                  history: Sequence[str] = ()) -> Iterator[Answer]:
    """Answers of growing text (tokens as an LLM streams them); the last one is final and checked."""
    question = check_question(question, reader.settings.max_question_chars)
    query = search_query(question, history)
    passages = reader.search(query, k=k, mode=mode)
    offline = offline_answer(reader, question, passages, query)
    settings = reader.settings
    if not (settings.llm_base_url and settings.llm_model) or not passages:
        yield offline
        return
    from .grounded import llm_answer

    yield from llm_answer(reader, question, passages, query, offline, history)
