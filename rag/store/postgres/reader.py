"""Reading an index kept in PostgreSQL: the same ``Reader`` as the local store, answered by SQL.

A search runs inside ``reading()``: one REPEATABLE READ transaction, so its dense query, keyword
query and passage look-up all see one committed state even while another process ingests.
A chunk has one vector or one per sentence (``rag_pieces``; ``rag.store.pieces``) and scores as its best
one. Hybrid search is one SQL query per side (HNSW for the vectors, BM25 over the postings), fused in
Python by ``rag.fusion``: the fusion scales each side by its max over the union of both top lists,
which one SQL statement could do only by repeating the fusion rules in SQL, and then two backends
would rank by two copies of one rule.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...errors import IndexCorruptError
from ...types import DocumentInfo, Passage
from ..base import Check
from ..lexical import tokenize
from ..local import PASSAGE_COLUMNS, passage_of, span_in_file
from ..manifest import REBUILD_HINT
from ..pieces import best_per_chunk, bits_for
from .connection import as_array, connect, failure, read_meta, redact

if TYPE_CHECKING:
    import numpy as np

K1, B = 1.5, 0.75  # bm25s's defaults (Lucene's BM25), which the local store uses
MAX_EF_SEARCH = 1000  # pgvector's limit
# BM25 with bm25s's Lucene formula over the postings; ``weight`` counts a term repeated in the question.
_BM25 = """
WITH q AS (SELECT * FROM unnest(%(terms)s::text[], %(weights)s::float8[]) AS q(term, weight)),
m AS (SELECT chunks::float8 AS n, total_terms::float8 / greatest(chunks, 1) AS avgdl FROM rag_meta),
scored AS (
  SELECT p.chunk_id, sum(q.weight * ln(1 + (m.n - t.df + 0.5) / (t.df + 0.5))
                         * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * c.n_terms / m.avgdl))) AS score
  FROM q JOIN rag_terms t USING (term) JOIN rag_postings p USING (term) JOIN rag_chunks c USING (chunk_id) CROSS JOIN m
  WHERE %(docs)s::text[] IS NULL OR c.doc_id = ANY(%(docs)s::text[])
  GROUP BY p.chunk_id),
best AS (SELECT chunk_id, score FROM scored ORDER BY score DESC, chunk_id LIMIT %(depth)s)
SELECT chunk_id, score, 0 AS part FROM best
UNION ALL
SELECT chunk_id, score, 1 FROM scored WHERE chunk_id = ANY(%(include)s::bigint[])
  AND chunk_id NOT IN (SELECT chunk_id FROM best)
ORDER BY part, score DESC, chunk_id
"""
# the nearest pieces through the HNSW index (relaxed_order: the scan goes on past ef_search until it has the
# LIMIT; Python sorts them again); and each chunk's best piece, exactly, for given chunks or the chunks of documents
_NEAREST = "SELECT chunk_id, -(embedding <#> %(query)s) FROM rag_pieces ORDER BY embedding <#> %(query)s LIMIT %(fetch)s"
_BEST = ("SELECT chunk_id, max(-(embedding <#> %(query)s)) AS score FROM rag_pieces WHERE chunk_id {chunks} "
         "GROUP BY chunk_id ORDER BY score DESC, chunk_id LIMIT %(k)s")
_BEST_OF_DOCS = _BEST.format(chunks="IN (SELECT chunk_id FROM rag_chunks WHERE doc_id = ANY(%(docs)s::text[]))")
_BEST_OF_CHUNKS = _BEST.format(chunks="= ANY(%(chunks)s::bigint[])")

class PostgresStore:
    """One connection to an index in PostgreSQL; thread-safe (one query at a time on the connection)."""

    def __init__(self, url: str, meta: dict[str, Any], connection: Any) -> None:
        self.url = url
        self.location = redact(url)
        self._connection = connection
        self._lock = threading.RLock()
        weakref.finalize(self, connection.close)
        self.refresh(meta)

    def refresh(self, meta: dict[str, Any]) -> None:
        self.settings, self.dimension, self.updated = meta["settings"], meta["dimension"], meta["updated"]
        self.chunk_count, self.document_count, self.generation = meta["chunks"], meta["documents"], meta["generation"]
        self.total_terms = meta["total_terms"]

    @contextmanager
    def reading(self) -> Iterator[None]:
        import psycopg

        with self._lock, failure(self.url):
            if self._connection.broken or self._connection.closed:  # the server restarted: this call reconnects
                self._connection = connect(self.url)
                weakref.finalize(self, self._connection.close)
            if self._connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                yield  # already inside one: a search's own calls
                return
            self._connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with self._connection.transaction():
                yield

    def _rows(self, sql: str, parameters: dict[str, Any] | Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.reading():
            return self._connection.execute(sql, parameters).fetchall()

    def dense_search(self, query: np.ndarray, k: int, doc_ids: Sequence[str] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest chunks by their best piece, best first (ties by chunk id): through the HNSW index,
        four pieces fetched per wanted chunk and more until ``k`` chunks are found; among ``doc_ids``' chunks,
        exactly (as the local store does: a filter keeps few, and a filtered graph walk may find fewer than ``k``)."""
        import numpy as np

        query = np.asarray(query, dtype=np.float32)
        if doc_ids is not None:
            rows = self._rows(_BEST_OF_DOCS, {"query": query, "docs": list(doc_ids), "k": k})
            return np.asarray([row[0] for row in rows], np.int64), np.asarray([row[1] for row in rows], np.float32)
        fetch = 4 * k if bits_for(self.settings) else k
        with self.reading():
            while True:
                self._connection.execute("SELECT set_config('hnsw.ef_search', %s, true), "
                                         "set_config('hnsw.iterative_scan', 'relaxed_order', true)",
                                         [str(min(MAX_EF_SEARCH, max(fetch, 40)))])
                rows = self._rows(_NEAREST, {"query": query, "fetch": fetch})
                chunks, scores = best_per_chunk(np.asarray([row[0] for row in rows], np.int64),
                                                np.asarray([row[1] for row in rows], np.float32), 0, k)
                if len(chunks) >= k or len(rows) < fetch:  # enough chunks, or no more pieces
                    return chunks, scores
                fetch *= 4

    def keyword_search(self, question: str, depth: int, doc_ids: Sequence[str] | None = None,
                       include: Sequence[int] | np.ndarray = ()) -> tuple[np.ndarray, np.ndarray]:
        """BM25 as the local store ranks it (same ``tokenize``, same formula), from the term statistics tables."""
        import numpy as np

        counts = Counter(tokenize(question))
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows = self._rows(_BM25, {"terms": list(counts), "weights": [float(n) for n in counts.values()], "k1": K1,
                                  "b": B, "depth": depth, "docs": None if doc_ids is None else list(doc_ids),
                                  "include": [int(chunk_id) for chunk_id in include]})
        return np.asarray([row[0] for row in rows], np.int64), np.asarray([row[1] for row in rows], np.float32)

    def vectors_of(self, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of ``chunk_ids``, chunk by chunk, one row per piece."""
        import numpy as np

        wanted = [int(chunk_id) for chunk_id in chunk_ids]
        found: dict[int, list[np.ndarray]] = {}
        for chunk_id, vector in self._rows("SELECT chunk_id, embedding FROM rag_pieces WHERE chunk_id = ANY(%s::bigint[]) "
                                           "ORDER BY chunk_id, piece", [wanted]):
            found.setdefault(chunk_id, []).append(as_array(vector))
        if len(found) < len(set(wanted)):
            raise IndexCorruptError(f"The index in {self.location} is damaged (vectors of chunks it does not hold); "
                                    f"{REBUILD_HINT}.")
        return np.vstack([row for chunk_id in wanted for row in found[chunk_id]]) if wanted else \
            np.zeros((0, self.dimension), np.float32)

    def dense_scores(self, query: np.ndarray, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Each chunk's dense score for ``query``, in the order of ``chunk_ids``: the best inner product among its
        pieces (-1, the lowest cosine, for a chunk the index does not hold, as in the local store)."""
        import numpy as np

        wanted = [int(chunk_id) for chunk_id in chunk_ids]
        best = dict(self._rows(_BEST_OF_CHUNKS, {"query": np.asarray(query, dtype=np.float32), "chunks": wanted,
                                                 "k": None}))  # LIMIT NULL: all of them
        return np.asarray([best.get(chunk_id, -1.0) for chunk_id in wanted], np.float32)

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term over the chunks (a term seen nowhere gets the largest)."""
        wanted = list(dict.fromkeys(terms))
        with self.reading():
            total = self._rows("SELECT chunks FROM rag_meta")[0][0]
            known = dict(self._rows("SELECT term, df FROM rag_terms WHERE term = ANY(%s)", [wanted]))
        return {term: math.log(1 + (total - known.get(term, 0) + 0.5) / (known.get(term, 0) + 0.5)) for term in wanted}

    def passages(self, chunk_ids: Sequence[int] | np.ndarray) -> dict[int, Passage]:
        wanted = [int(chunk_id) for chunk_id in chunk_ids]
        rows = self._rows(f"SELECT {PASSAGE_COLUMNS} FROM rag_chunks c JOIN rag_documents d USING (doc_id) "
                          "WHERE c.chunk_id = ANY(%s)", [wanted])
        found = {row[0]: passage_of(row) for row in rows}
        if len(found) < len(set(wanted)):
            raise IndexCorruptError(f"The index in {self.location} is damaged (vectors of chunks it does not hold); "
                                    f"{REBUILD_HINT}.")
        return found

    def raw_span(self, passage: Passage, clean_start: int, clean_end: int) -> tuple[int, int] | None:
        rows = self._rows("SELECT offsets, start FROM rag_chunks WHERE chunk_id = %s AND doc_id = %s",
                          [passage.chunk_id, passage.doc_id])
        return span_in_file(rows, passage, clean_start, clean_end)

    def headings(self, limit: int = 200) -> list[tuple[str, str]]:
        return [(title, section) for title, section in self._rows(
            "SELECT d.title, c.section FROM rag_chunks c JOIN rag_documents d USING (doc_id) "
            'GROUP BY c.doc_id, d.title, c.section ORDER BY c.doc_id COLLATE "C", min(c.ordinal) LIMIT %s', [limit])]

    def chunk_ids_of(self, doc_ids: Sequence[str]) -> list[int]:
        return [row[0] for row in self._rows("SELECT chunk_id FROM rag_chunks WHERE doc_id = ANY(%s) ORDER BY chunk_id",
                                             [list(doc_ids)])]

    def documents(self) -> list[DocumentInfo]:
        rows = self._rows("SELECT d.doc_id, d.title, d.date, d.n_chunks, d.encoding, length(d.text), "
                          "(SELECT count(DISTINCT c.section) FROM rag_chunks c WHERE c.doc_id = d.doc_id "
                          "AND c.section != '') FROM rag_documents d ORDER BY d.doc_id COLLATE \"C\"")
        return [DocumentInfo(*row) for row in rows]

    def document_text(self, doc_id: str) -> str | None:
        rows = self._rows("SELECT text FROM rag_documents WHERE doc_id = %s", [doc_id])
        return str(rows[0][0]) if rows else None

    def size_on_disk(self) -> int:
        """Bytes of the index's tables with their indexes and TOAST, as PostgreSQL counts them."""
        return int(self._rows("SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY['rag_meta', 'rag_documents', "
                              "'rag_chunks', 'rag_pieces', 'rag_postings', 'rag_terms']::regclass[]) c")[0][0])

    def current_generation(self) -> int:
        return int(self._rows("SELECT generation FROM rag_meta")[0][0])

    def close(self) -> None:
        """Searches in other threads may still hold this store; the finalizer closes the connection."""


class PostgresLive:
    """The store of an index in PostgreSQL, its settings re-read and re-checked when any writer commits."""

    def __init__(self, url: str, check: Check) -> None:
        from ...errors import IndexNotFoundError

        self.url = url
        self._check = check
        connection = connect(url)
        with failure(url):
            meta = read_meta(connection, url)
        if meta is None:
            connection.close()
            raise IndexNotFoundError(f"No index in the database {redact(url)}: run `rag ingest DIR --store URL` first.")
        check(meta["settings"])
        self._store = PostgresStore(url, meta, connection)

    def reload(self) -> PostgresStore:
        from ...errors import IndexNotFoundError

        store = self._store
        with store.reading():
            meta = read_meta(store._connection, self.url)
        if meta is None:
            raise IndexNotFoundError(f"No index in the database {store.location}: run `rag ingest DIR --store URL` "
                                     "first.")
        self._check(meta["settings"])
        store.refresh(meta)
        return store

    def current(self) -> PostgresStore:
        """One cheap query per call: a commit by any process changes the generation."""
        store = self._store
        return self.reload() if store.current_generation() != store.generation else store
