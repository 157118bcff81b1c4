"""Writing an index kept in PostgreSQL: one ingest is one transaction.

Readers go on seeing the last committed state until ``commit``; a writer killed at any moment
(even SIGKILL) leaves that state, because PostgreSQL rolls back a transaction whose connection
is gone. BM25's term statistics (postings, document frequencies, chunk lengths and their total)
and each chunk's vectors (``rag_pieces``) are kept in step inside the same transaction, so
no search ever sees half an ingest.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...errors import IndexMismatchError
from ...types import Chunk, Document
from ..lexical import tokenize
from ..manifest import REBUILD_HINT, Manifest
from ..pieces import bits_for, check_counts
from .connection import DROP, FORMAT, HNSW, as_array, connect, failure, redact, schema

if TYPE_CHECKING:
    import numpy as np

_CHUNK_COLUMNS = ('chunk_id, doc_id, ordinal, start, "end", line_start, line_end, text, clean_text, section, page, '
                  "indexed_text, offsets, n_terms")


class PostgresWriter:
    """Replaces documents inside one open transaction; ``previous`` None starts the tables afresh."""

    def __init__(self, url: str, previous: Manifest | None, settings: dict[str, Any], dimension: int) -> None:
        self.url = url
        self.settings = settings
        self.dimension = dimension
        self.fresh = previous is None
        if previous is not None and previous.dimension != dimension:
            raise IndexMismatchError(f"The index in {redact(url)} has {previous.dimension}-d vectors, the model gives "
                                     f"{dimension}-d; {REBUILD_HINT}.")
        self.connection = connect(url)
        self.connection.autocommit = False  # from here on, everything is one transaction
        self._touched: set[str] = set()  # terms whose document frequency this transaction changes
        self._prepared = False

    def _prepare(self) -> None:
        """A fresh index drops and recreates the tables, at the first write rather than at the start: the
        DROP locks readers out until commit, and embedding (which comes first) may take minutes."""
        if self._prepared:
            return
        self._prepared = True
        if self.fresh:
            self.connection.execute(DROP)
            for statement in schema(self.dimension):
                if statement != HNSW:  # built once at commit over all rows, faster than row by row
                    self.connection.execute(statement)
            self.connection.execute("INSERT INTO rag_meta VALUES (1, %s, %s, %s, 0, 0, 0, '', 0)",
                                    [json.dumps(self.settings), self.dimension, FORMAT])

    def remove(self, doc_id: str) -> None:
        with failure(self.url):
            self._prepare()
            rows = self.connection.execute("SELECT DISTINCT p.term FROM rag_postings p JOIN rag_chunks c USING (chunk_id) "
                                           "WHERE c.doc_id = %s", [doc_id]).fetchall()
            self._touched.update(row[0] for row in rows)
            self.connection.execute("DELETE FROM rag_documents WHERE doc_id = %s", [doc_id])  # cascades

    def add(self, document: Document, chunks: Sequence[Chunk], indexed_texts: Sequence[str],
            vectors: Sequence[np.ndarray]) -> None:
        """Replace ``document`` with these chunks, their terms and each chunk's vectors (one row per piece)."""
        import numpy as np

        matrices = [np.atleast_2d(np.asarray(matrix, dtype=np.float32)) for matrix in vectors]
        if len(matrices) != len(chunks):
            raise ValueError("every chunk needs at least one vector")
        check_counts([len(matrix) for matrix in matrices], bits_for(self.settings))
        if self.fresh:  # empty tables: nothing to replace
            with failure(self.url):
                self._prepare()
        else:
            self.remove(document.doc_id)
        with failure(self.url):
            execute = self.connection.execute
            execute("INSERT INTO rag_documents VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [document.doc_id, document.title, document.date, document.content_hash, document.encoding,
                     document.text, len(chunks)])
            if not chunks:
                return
            ids = [row[0] for row in execute("SELECT nextval(pg_get_serial_sequence('rag_chunks', 'chunk_id')) "
                                             "FROM generate_series(1, %s)", [len(chunks)]).fetchall()]
            terms = [Counter(tokenize(text)) for text in indexed_texts]
            cursor = self.connection.cursor()
            with cursor.copy(f"COPY rag_chunks ({_CHUNK_COLUMNS}) FROM STDIN") as copy:
                for chunk_id, chunk, indexed, counts in zip(ids, chunks, indexed_texts, terms, strict=True):
                    copy.write_row([chunk_id, chunk.doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.line_start,
                                    chunk.line_end, chunk.text, chunk.clean_text, chunk.section, chunk.page, indexed,
                                    bytes(chunk.offsets), max(1, sum(counts.values()))])  # bm25s counts an empty chunk as 1
            with cursor.copy("COPY rag_pieces (chunk_id, piece, embedding) FROM STDIN") as copy:
                for chunk_id, matrix in zip(ids, matrices, strict=True):
                    for piece, vector in enumerate(matrix):
                        copy.write_row([chunk_id, piece, vector])
            with cursor.copy("COPY rag_postings (term, chunk_id, tf) FROM STDIN") as copy:
                for chunk_id, counts in zip(ids, terms):
                    for term, frequency in counts.items():
                        copy.write_row([term, chunk_id, frequency])
            for counts in terms:
                self._touched.update(counts)

    def stored_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors already held for the chunks of ``doc_ids`` (one row per piece), by indexed text (see the
        local ``Writer``)."""
        import numpy as np

        if self.fresh or not doc_ids:
            return {}
        with failure(self.url):
            rows = self.connection.execute("SELECT c.chunk_id, c.indexed_text, p.embedding FROM rag_chunks c "
                                           "JOIN rag_pieces p USING (chunk_id) WHERE c.doc_id = ANY(%s) "
                                           "ORDER BY c.chunk_id, p.piece", [list(doc_ids)]).fetchall()
        pieces: dict[int, tuple[str, list[np.ndarray]]] = {}
        for chunk_id, text, vector in rows:
            pieces.setdefault(chunk_id, (text, []))[1].append(as_array(vector))
        return {text: np.vstack(vectors) for text, vectors in pieces.values()}

    def commit(self) -> None:
        """Bring the document frequencies and totals up to date, then make it all visible at once."""
        with failure(self.url):
            self._prepare()
            execute = self.connection.execute
            touched = sorted(self._touched)
            execute("DELETE FROM rag_terms WHERE term = ANY(%s)", [touched])
            execute("INSERT INTO rag_terms SELECT term, count(*) FROM rag_postings WHERE term = ANY(%s) GROUP BY term",
                    [touched])
            execute(HNSW)
            execute("UPDATE rag_meta SET settings = %s, documents = (SELECT count(*) FROM rag_documents), "
                    "chunks = (SELECT count(*) FROM rag_chunks), "
                    "total_terms = (SELECT coalesce(sum(n_terms), 0) FROM rag_chunks), updated = %s, generation = %s",
                    [json.dumps(self.settings), datetime.now(UTC).isoformat(timespec="seconds"), time.time_ns()])
            self.connection.commit()
        self.connection.close()

    def abort(self) -> None:
        try:
            self.connection.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone already; closing is all that is left
            pass
        finally:
            self.connection.close()
