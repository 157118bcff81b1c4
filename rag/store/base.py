"""What every store backend offers (local generations, PostgreSQL), and the ranking helper they share.

A backend is four things: a ``Reader`` for searching one consistent state, a ``Writer`` for one
ingest (all of it or nothing), a ``Live`` handle that always gives the current ``Reader``, and a
``Backend`` that makes them and holds the write lock. The retriever and the front door see only
these protocols, so ranking (``rag.fusion``) is the same code over either backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ..types import Chunk, Document, DocumentInfo, Passage
from .manifest import Manifest

if TYPE_CHECKING:
    import numpy as np


class Reader(Protocol):
    """One store opened for reading. ``reading()`` pins one state for a whole search."""

    location: str  # "local .rag/index" or "postgresql://user@host/db" (never a password)
    settings: dict[str, Any]  # model, backend, chunk_size, chunk_overlap that built it
    dimension: int
    chunk_count: int
    document_count: int
    updated: str

    def reading(self) -> AbstractContextManager[None]: ...
    def dense_search(self, query: np.ndarray, k: int, doc_ids: Sequence[str] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]: ...
    def keyword_search(self, question: str, depth: int, doc_ids: Sequence[str] | None = None,
                       include: Sequence[int] | np.ndarray = ()) -> tuple[np.ndarray, np.ndarray]: ...
    def vectors_of(self, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray: ...  # one row per piece, chunk by chunk
    def dense_scores(self, query: np.ndarray, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray: ...  # best piece
    def idf(self, terms: Iterable[str]) -> dict[str, float]: ...
    def passages(self, chunk_ids: Sequence[int] | np.ndarray) -> dict[int, Passage]: ...
    def raw_span(self, passage: Passage, clean_start: int, clean_end: int) -> tuple[int, int] | None: ...
    def headings(self, limit: int = 200) -> list[tuple[str, str]]: ...
    def chunk_ids_of(self, doc_ids: Sequence[str]) -> list[int]: ...
    def documents(self) -> list[DocumentInfo]: ...
    def document_text(self, doc_id: str) -> str | None: ...
    def size_on_disk(self) -> int: ...
    def close(self) -> None: ...


class Writer(Protocol):
    """One ingest or deletion: nothing is visible to readers until ``commit``; ``abort`` drops it all."""

    def add(self, document: Document, chunks: Sequence[Chunk], indexed_texts: Sequence[str],
            vectors: Sequence[np.ndarray]) -> None: ...  # each chunk's vectors, one row per piece
    def remove(self, doc_id: str) -> None: ...
    def stored_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]: ...
    def commit(self) -> object: ...  # the local one returns its new manifest
    def abort(self) -> None: ...


class Live(Protocol):
    def current(self) -> Reader: ...
    def reload(self) -> Reader: ...


Check = Callable[[dict[str, Any]], None]  # vets the settings that built a store before it is used


class Backend(Protocol):
    """Where an index lives. ``previous()`` is what it holds now (None: no index yet), as a ``Manifest``."""

    location: str
    local: bool  # True when the index takes space on this machine's disk

    def lock(self) -> AbstractContextManager[None]: ...
    def previous(self) -> Manifest | None: ...
    def reader(self, previous: Manifest) -> Reader: ...
    def writer(self, previous: Manifest | None, settings: dict[str, Any], dimension: int) -> Writer: ...
    def live(self, check: Check) -> Live: ...
    def tidy(self, previous: Manifest) -> None: ...


@contextmanager
def committed(writer: Writer) -> Iterator[Writer]:
    """All or nothing: commit what the block wrote, or abort it on any error or interrupt (commit included)."""
    try:
        yield writer
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first (ties keep position order)."""
    import numpy as np

    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]
