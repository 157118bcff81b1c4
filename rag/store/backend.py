"""Which store an index lives in: the local generation folder, or PostgreSQL when ``store_url`` is set.

    open_backend(settings)   # LocalBackend(".rag/index"), or PostgresBackend("postgresql://...")

Ingest, deletion and the front door go through this, never through a backend's classes, so adding
a backend touches only ``open_backend``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..config import VECTOR_INDEXES, Settings
from ..errors import IndexNotFoundError, InvalidQueryError
from .base import Backend, Check
from .live import LiveStore
from .local import Store
from .local_writer import Writer
from .manifest import MANIFEST, Manifest, read_manifest, remove_stale, write_lock
from .vectors import AUTO, Policy


class LocalBackend:
    """Generations of SQLite + FAISS + BM25 under one folder, published by the manifest."""

    local = True

    def __init__(self, index_dir: Path, policy: Policy = AUTO) -> None:
        self.index_dir = index_dir
        self.location = str(index_dir)
        self.policy = policy  # which FAISS index a writer leaves behind

    def lock(self) -> AbstractContextManager[None]:
        return write_lock(self.index_dir)

    def previous(self) -> Manifest | None:
        return read_manifest(self.index_dir) if (self.index_dir / MANIFEST).exists() else None

    def reader(self, previous: Manifest) -> Store:
        return Store(self.index_dir, previous)

    def writer(self, previous: Manifest | None, settings: dict[str, Any], dimension: int) -> Writer:
        return Writer(self.index_dir, previous, settings, dimension, self.policy)

    def live(self, check: Check) -> LiveStore:
        return LiveStore(self.index_dir, check)

    def tidy(self, previous: Manifest) -> None:
        """A writer killed between its manifest swap and its clean-up left the old generation behind."""
        remove_stale(self.index_dir, keep=previous.generation)


def open_backend(settings: Settings) -> Backend:
    """The backend ``settings`` name: PostgreSQL for a ``store_url``, else the folder ``index_dir``."""
    if settings.store_url:
        from .postgres import PostgresBackend

        return PostgresBackend(settings.store_url)
    if settings.vector_index not in VECTOR_INDEXES:
        raise InvalidQueryError(f"Unknown vector index {settings.vector_index!r}; set RAG_VECTOR_INDEX to one of "
                                f"{', '.join(VECTOR_INDEXES)}.")
    return LocalBackend(settings.index_path, Policy(settings.vector_index, settings.hnsw_from))


def built_with(settings: Settings) -> dict[str, Any]:
    """The settings that built the index ``settings`` point at (an ``IndexNotFoundError`` when there is none)."""
    backend = open_backend(settings)
    if backend.local:
        return read_manifest(settings.index_path).settings  # its error names the folder and the command
    previous = backend.previous()
    if previous is None:
        raise IndexNotFoundError(f"No index in the database {backend.location}: run `rag ingest DIR --store URL` first.")
    return previous.settings
