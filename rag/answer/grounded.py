"""The LLM answer path: stream the answer, check its citations, renumber them, find their evidence.

The offline answer is computed first and shown instead when the LLM fails, so a dead
endpoint costs one notice, not the answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from ..errors import LLMError
from ..markers import check_citations, renumber
from ..sentences import sentence_spans
from ..store.lexical import tokenize
from ..types import Answer, Citation, Passage
from .llm import LLMClient
from .prompt import build_messages
from .reader import Reader


def llm_answer(reader: Reader, question: str, passages: Sequence[Passage], query: str, offline: Answer,
               history: Sequence[str]) -> Iterator[Answer]:
    """Partial answers as the LLM streams, then the checked one (or ``offline`` with a notice on failure)."""
    settings = reader.settings
    client = LLMClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)
    pieces: list[str] = []
    try:
        for piece in client.stream(build_messages(question, passages, [(q, "") for q in history])):
            pieces.append(piece)
            yield Answer(question=question, text="".join(pieces), passages=tuple(passages), abstained=False,
                         search_query=query, partial=True)
    except LLMError as error:
        yield replace(offline, notice=f"The LLM failed ({error}); this is the offline answer.")
        return
    checked = check_citations("".join(pieces), len(passages))
    yield _final(reader, question, checked.text, passages, checked.cited, checked.grounded, query)


def _final(reader: Reader, question: str, text: str, passages: Sequence[Passage], cited: Sequence[int], grounded: bool,
           query: str) -> Answer:
    """Markers become 1..n in order of first use, so ``[n]`` is ``passages[n - 1]`` of the answer."""
    text, order = renumber(text, cited)
    abstained = "do not say" in text.lower() and not order
    notice = None if grounded or abstained else "This answer cites no passage: treat it as ungrounded."
    cited_passages = tuple(passages[old - 1] for old in order)
    return Answer(question=question, text=text, passages=cited_passages, abstained=abstained,
                  citations=tuple(_evidence(reader, text, marker, passage) for marker, passage in enumerate(cited_passages, 1)),
                  related=tuple(passages[:3]) if abstained else (), grounded=grounded or abstained, notice=notice,
                  search_query=query)


def _evidence(reader: Reader, text: str, marker: int, passage: Passage) -> Citation:
    """The sentence of ``passage`` that shares most terms with the answer's sentences citing ``[marker]``."""
    claims = set(tokenize(" ".join(text[start:end] for start, end in sentence_spans(text)
                                   if f"[{marker}]" in text[start:end])))
    clean = passage.clean_text
    spans = sentence_spans(clean) or [(0, len(clean))]
    best = max(spans, key=lambda span: len(claims & set(tokenize(clean[span[0] : span[1]]))))
    start, end = reader.raw_span(passage, *best)
    return Citation(marker, start, end, passage.text[start - passage.start : end - passage.start])
