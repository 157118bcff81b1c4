"""The data that flows through the pipeline: files -> documents -> chunks -> passages -> answers.

All offsets are character offsets into the file's text as decoded from disk (no newline
translation), so ``file_text[start:end]`` is the passage exactly as it stands in the file.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A run of a document's visible text under one heading path; ``()`` before the first heading."""

    start: int  # offsets in the visible text
    end: int
    path: tuple[str, ...]  # e.g. ("json — JSON encoder and decoder", "Exceptions")
    soft: bool = False  # started by a definition term (an API signature), not a heading: small ones share chunks


@dataclass(frozen=True)
class Parsed:
    """A parsed document: visible text, its exact map to ``raw``, title, date, sections and pages."""

    raw: str  # the text offsets refer to: the file's text, or the extracted text for pdf and docx
    text: str  # visible text: what is chunked, embedded and shown
    starts: array  # type: ignore[type-arg]  # visible character i stands for raw[starts[i]:ends[i]]
    ends: array  # type: ignore[type-arg]
    title: str | None
    date: str | None  # ISO YYYY-MM-DD, only when the document states its own date
    sections: tuple[Section, ...]  # contiguous, in order, covering text
    pages: tuple[int, ...] = ()  # visible-text offset where each page starts (pdf)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the visible span ``[start, end)`` to the raw span that covers it."""
        if end <= start:
            position = self.starts[start] if start < len(self.starts) else len(self.raw)
            return position, position
        return self.starts[start], self.ends[end - 1]


@dataclass(frozen=True)
class Document:
    """One source file, decoded, with what the loader could tell about it."""

    doc_id: str  # path relative to the ingested folder, with forward slashes
    source: str  # same as doc_id; kept separate so a UI never has to guess
    title: str
    date: str | None  # ISO date (YYYY-MM-DD) when the text gives one
    text: str  # the file's text as decoded (extracted, for pdf and docx): offsets point into this
    parsed: Parsed  # visible text with its map back to ``text``, sections and pages
    content_hash: str  # sha256 of the file's bytes
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: the unit that is embedded and retrieved."""

    doc_id: str
    ordinal: int  # position of the chunk in its document, from 0
    text: str  # raw text: document.text[start:end]
    clean_text: str  # the same span with markup removed; this is what gets embedded
    start: int
    end: int
    line_start: int  # 1-based, inclusive
    line_end: int
    section: str = ""  # heading path, e.g. "json — JSON encoder and decoder › Exceptions"
    page: int | None = None  # 1-based page of the chunk's start, for paged formats
    offsets: bytes = b""  # clean_text's map back to text, as runs (rag.spans)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its citation: everything a UI needs without another look-up.

    Example::

        Passage(text="Jo Yong Won, member of the Presidium ... made an opening address.",
                score=0.83, rank=1, source="000_0220f7c6bd20be88.txt",
                title="Second Short Course for Chief Secretaries ... Held", doc_id="000_0220f7c6bd20be88.txt",
                chunk_id=7, start=1878, end=2036, line_start=19, line_end=19, date="2024-01-30", ...)
    """

    text: str
    score: float
    rank: int  # 1-based
    source: str
    title: str
    doc_id: str
    chunk_id: int
    start: int
    end: int
    line_start: int
    line_end: int
    date: str | None = None
    clean_text: str = ""
    section: str = ""
    page: int | None = None


@dataclass(frozen=True)
class Citation:
    """Where the evidence for one ``[n]`` marker stands: a sentence inside passage n."""

    marker: int  # the n of ``[n]``, 1-based; refers to ``Answer.passages[n - 1]``
    start: int  # offsets of the evidence sentence in the source file
    end: int
    text: str  # the evidence sentence as it stands in the file
    answer_start: int | None = None  # offsets of the short answer inside it, when the reply opens with one
    answer_end: int | None = None


@dataclass(frozen=True)
class Answer:
    """An answer whose every ``[n]`` marker refers to ``passages[n - 1]``."""

    question: str
    text: str
    passages: tuple[Passage, ...]  # the cited passages, in marker order
    abstained: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Passage, ...] = ()  # closest passages when abstaining: possibly related, not cited
    grounded: bool = True  # False when an LLM answer cited nothing checkable
    notice: str | None = None  # e.g. "The LLM failed (timeout); showing the offline answer."
    search_query: str = ""  # the query actually used for retrieval (follow-ups borrow context)
    partial: bool = False  # True while an LLM is still streaming: markers may change, sources follow the final one
    confidence: float | None = None  # the offline answerer's score for its evidence (None for LLM answers)


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document as the catalogue lists it."""

    doc_id: str
    title: str
    date: str | None
    n_chunks: int
    encoding: str
    n_chars: int
    n_sections: int = 0  # distinct section headings its chunks fall under (0: no headings)


@dataclass(frozen=True)
class IndexInfo:
    """What an opened index holds and what built it."""

    index: str
    documents: int
    chunks: int
    model: str
    backend: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    bytes_on_disk: int
    updated: str
    store: str = ""  # "local .rag/index" or "postgresql://user@host/db" (no password)
