"""Connecting to PostgreSQL, the schema, and turning every database failure into one sentence.

The one importer of psycopg and pgvector. Tables (all prefixed ``rag_``)::

    rag_meta       one row: the settings that built the index, dimension, format, counts, BM25 totals
    rag_documents  one row per file: title, date, content hash, text
    rag_chunks     text, offsets, lines, section, page, indexed text, offsets map, term count
    rag_pieces     (chunk, piece number, vector): one vector per sentence of a chunk, or one for the whole chunk
    rag_postings   (term, chunk, term frequency): BM25's inverted index
    rag_terms      (term, document frequency): kept in step with the postings by each commit
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...errors import IndexCorruptError, RagError
from ..manifest import REBUILD_HINT, short

FORMAT = 2  # of the tables below (1: one vector per chunk, in rag_chunks); another value is refused
HNSW = "CREATE INDEX IF NOT EXISTS rag_pieces_hnsw ON rag_pieces USING hnsw (embedding vector_ip_ops)"


def schema(dimension: int) -> list[str]:
    """The statements that create the tables for ``dimension``-d vectors (inner product on unit vectors = cosine)."""
    return [
        "CREATE TABLE rag_meta (id INTEGER PRIMARY KEY CHECK (id = 1), settings JSONB NOT NULL, "
        "dimension INTEGER NOT NULL, format INTEGER NOT NULL, documents INTEGER NOT NULL, chunks BIGINT NOT NULL, "
        "total_terms BIGINT NOT NULL, updated TEXT NOT NULL, generation BIGINT NOT NULL)",
        "CREATE TABLE rag_documents (doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, content_hash TEXT NOT NULL, "
        "encoding TEXT NOT NULL, text TEXT NOT NULL, n_chunks INTEGER NOT NULL)",
        "CREATE TABLE rag_chunks (chunk_id BIGSERIAL PRIMARY KEY, "
        "doc_id TEXT NOT NULL REFERENCES rag_documents(doc_id) ON DELETE CASCADE, ordinal INTEGER NOT NULL, "
        'start INTEGER NOT NULL, "end" INTEGER NOT NULL, line_start INTEGER NOT NULL, line_end INTEGER NOT NULL, '
        "text TEXT NOT NULL, clean_text TEXT NOT NULL, section TEXT NOT NULL, page INTEGER, indexed_text TEXT NOT NULL, "
        "offsets BYTEA NOT NULL, n_terms INTEGER NOT NULL)",
        "CREATE INDEX rag_chunks_by_doc ON rag_chunks (doc_id)",
        "CREATE TABLE rag_pieces (chunk_id BIGINT NOT NULL REFERENCES rag_chunks(chunk_id) ON DELETE CASCADE, "
        f"piece INTEGER NOT NULL, embedding vector({int(dimension)}) NOT NULL, PRIMARY KEY (chunk_id, piece))",
        HNSW,
        "CREATE TABLE rag_postings (term TEXT NOT NULL, chunk_id BIGINT NOT NULL REFERENCES rag_chunks(chunk_id) "
        "ON DELETE CASCADE, tf INTEGER NOT NULL, PRIMARY KEY (term, chunk_id))",
        "CREATE INDEX rag_postings_by_chunk ON rag_postings (chunk_id)",
        "CREATE TABLE rag_terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL)",
    ]


DROP = "DROP TABLE IF EXISTS rag_pieces, rag_postings, rag_terms, rag_chunks, rag_documents, rag_meta"


def redact(url: str) -> str:
    """The URL without its password (in the user part or as ``password=``), fit to print."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query) if key != "password"], safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise RagError("The PostgreSQL store needs psycopg and pgvector: run `pip install 'psycopg[binary]' pgvector`.") \
            from None
    return psycopg


def connect(url: str) -> Any:
    """An autocommit connection with the vector extension made and its type registered, or one sentence."""
    psycopg = _psycopg()
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        raise RagError(f"Cannot reach the PostgreSQL database {redact(url)} ({short(error)}); check RAG_STORE_URL "
                       "(or --store), or start one with `rag postgres start --data DIR`.") from None
    with failure(url):
        if connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is None:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        from pgvector.psycopg import register_vector

        register_vector(connection)
    return connection


@contextmanager
def failure(url: str) -> Iterator[None]:
    """Database errors as one sentence: lost connection, or tables that are not what this version wrote."""
    psycopg = _psycopg()
    try:
        yield
    except psycopg.OperationalError as error:
        raise RagError(f"Lost the PostgreSQL database {redact(url)} ({short(error)}); check that it is running "
                       "and try again.") from None
    except psycopg.Error as error:
        raise IndexCorruptError(f"The index in {redact(url)} is damaged ({short(error)}); {REBUILD_HINT}.") from None


def as_array(value: Any) -> Any:
    """A stored vector as float32 numpy (pgvector hands back its own ``Vector`` type)."""
    import numpy as np

    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def tables_exist(connection: Any) -> bool:
    return connection.execute("SELECT to_regclass('rag_meta') IS NOT NULL").fetchone()[0]


def read_meta(connection: Any, url: str) -> dict[str, Any] | None:
    """The ``rag_meta`` row as a dict, None when the database holds no index; a wrong format is refused."""
    from ...errors import IndexMismatchError

    if not tables_exist(connection):
        return None
    row = connection.execute("SELECT settings, dimension, format, documents, chunks, total_terms, updated, generation "
                             "FROM rag_meta WHERE id = 1").fetchone()
    if row is None:
        raise IndexCorruptError(f"The index in {redact(url)} is damaged (its settings row is missing); {REBUILD_HINT}.")
    meta = dict(zip(("settings", "dimension", "format", "documents", "chunks", "total_terms", "updated", "generation"),
                    row))
    if meta["format"] != FORMAT:
        raise IndexMismatchError(f"The index in {redact(url)} has format {meta['format']}, this version reads {FORMAT}; "
                                 f"{REBUILD_HINT}.")
    return meta
