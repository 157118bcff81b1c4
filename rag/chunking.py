"""Documents to chunks: the one importer of langchain-text-splitters.

The splitter cuts the clean text at paragraph, line, sentence, clause and word boundaries, in
that order of preference; each chunk is then located in the clean text and mapped back to
exact raw offsets and 1-based line numbers.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

from .types import Chunk, Document

# Sentence ends first, then clauses: a chunk boundary inside a sentence is the last resort.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " ", ""]


def chunk_document(document: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split ``document`` into overlapping chunks whose ``text`` is ``document.text[start:end]``."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    clean = document.clean
    newlines = [index for index, char in enumerate(document.text) if char == "\n"]
    chunks = []
    for ordinal, (clean_start, clean_end) in enumerate(_locate(clean.text, splitter.split_text(clean.text))):
        start, end = clean.raw_span(clean_start, clean_end)
        chunks.append(
            Chunk(
                doc_id=document.doc_id,
                ordinal=ordinal,
                text=document.text[start:end],
                clean_text=clean.text[clean_start:clean_end],
                start=start,
                end=end,
                line_start=bisect_right(newlines, start - 1) + 1,
                line_end=bisect_right(newlines, end - 2) + 1 if end > start else bisect_right(newlines, start - 1) + 1,
            )
        )
    return chunks


def _locate(text: str, pieces: list[str]) -> Iterator[tuple[int, int]]:
    """Find each piece in ``text``, in order; overlapping pieces start after the previous start."""
    search_from = 0
    for piece in pieces:
        if not piece.strip():
            continue
        position = text.find(piece, search_from)
        if position < 0:
            position = text.find(piece)
        if position < 0:  # the splitter only cuts and strips, so this means a bug, not bad input
            raise ValueError(f"chunk not found in its document: {piece[:60]!r}")
        search_from = position + 1
        yield position, position + len(piece)


def index_text(title: str, clean_text: str) -> str:
    """What is embedded and BM25-indexed for a chunk: its document's title gives it context.

    A chunk that already holds the title (the document's head) does not get it twice.
    """
    return clean_text if title in clean_text else f"{title}\n{clean_text}"
