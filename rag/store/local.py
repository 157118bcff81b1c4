"""The local store: one generation folder of SQLite metadata, FAISS vectors and a BM25 index.

    gen-000007/chunks.sqlite  documents and chunks (text, offsets, lines, section, page, indexed text)
    gen-000007/vectors.faiss  vectors keyed by piece id: a chunk's, or each of its sentences' (``rag.store.vectors``)
    gen-000007/bm25/          the BM25 index and its row -> chunk id map (``rag.store.lexical``)

``Store`` opens a generation for reading; ``rag.store.local_writer.Writer`` builds the next one.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import spans
from ..errors import IndexCorruptError
from ..types import DocumentInfo, Passage
from . import vectors as dense
from .base import top_k
from .lexical import Lexical
from .manifest import REBUILD_HINT, Manifest, changed_file, short
from .pieces import bits_for

if TYPE_CHECKING:
    import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, content_hash TEXT NOT NULL,
    encoding TEXT NOT NULL, text TEXT NOT NULL, n_chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id), ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, line_start INTEGER NOT NULL, line_end INTEGER NOT NULL,
    text TEXT NOT NULL, clean_text TEXT NOT NULL, section TEXT NOT NULL, page INTEGER, indexed_text TEXT NOT NULL,
    offsets BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS terms (chunk_id INTEGER PRIMARY KEY, terms TEXT NOT NULL);
"""
PASSAGE_COLUMNS = ('c.chunk_id, c.doc_id, c.start, c."end", c.line_start, c.line_end, c.text, c.clean_text, '
                    "c.section, c.page, d.title, d.date")


def passage_of(row: Sequence[Any]) -> Passage:
    """A row of ``PASSAGE_COLUMNS`` as a passage (score 0, rank 0: the retriever sets both)."""
    chunk_id, doc_id, start, end, line_start, line_end, text, clean_text, section, page, title, date = row
    return Passage(text=text, score=0.0, rank=0, source=doc_id, title=title, doc_id=doc_id, chunk_id=chunk_id,
                   start=start, end=end, line_start=line_start, line_end=line_end, date=date,
                   clean_text=clean_text, section=section, page=page)


def span_in_file(rows: Sequence[Sequence[Any]], passage: Passage, clean_start: int, clean_end: int
                 ) -> tuple[int, int] | None:
    """File offsets from the ``(offsets, start)`` row of ``passage``'s chunk; None when the chunk changed since."""
    if not rows or rows[0][1] != passage.start:
        return None
    start, end = spans.raw_span(bytes(rows[0][0]), clean_start, clean_end)
    return passage.start + start, passage.start + end


class Store:
    """One generation opened for reading: chunk look-ups, dense and keyword search, document texts."""

    def __init__(self, index_dir: Path, manifest: Manifest) -> None:
        import numpy as np

        self.index_dir = index_dir
        self.manifest = manifest
        folder = index_dir / manifest.generation
        changed = changed_file(folder, manifest.store)
        if changed:
            raise IndexCorruptError(f"The index at {index_dir} is damaged ({changed}); {REBUILD_HINT}.")
        try:
            # as a URI, percent-encoded: '#', '?' and '%' are legal in folder names
            uri = f"{(folder / 'chunks.sqlite').resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            weakref.finalize(self, self._db.close)
            self._db.execute("SELECT count(*) FROM chunks").fetchone()
            self.vectors = dense.read_vectors(folder / "vectors.faiss", manifest.vectors, bits_for(manifest.settings))
            self.lexical = Lexical.load(folder / "bm25")
        except (sqlite3.Error, RuntimeError, OSError, ValueError, KeyError) as error:
            raise IndexCorruptError(f"The index at {index_dir} is damaged ({short(error)}); {REBUILD_HINT}.") from None
        held = self.vectors.chunk_ids()
        if len(held) != manifest.chunk_count or self.vectors.d != manifest.dimension:
            raise IndexCorruptError(
                f"The index at {index_dir} is inconsistent (vectors of {len(held)} chunks in {self.vectors.d} dimensions "
                f"for {manifest.chunk_count} chunks of {manifest.dimension}); {REBUILD_HINT}."
            )
        if not np.array_equal(held, np.sort(self.lexical.chunk_ids)):
            raise IndexCorruptError(f"The index at {index_dir} is damaged (its vectors and its keyword index name "
                                    f"different chunks); {REBUILD_HINT}.")
        self._lock = threading.Lock()
        self.location = f"local {index_dir}"
        self.settings, self.dimension, self.updated = manifest.settings, manifest.dimension, manifest.updated
        self.chunk_count, self.document_count = manifest.chunk_count, len(manifest.files)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One state for a whole search: a generation never changes once written, so nothing to pin."""
        yield

    def dense_search(self, query: np.ndarray, k: int, doc_ids: Sequence[str] | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and inner-product scores of the ``k`` nearest vectors (of ``doc_ids`` only), best first."""
        import numpy as np

        if doc_ids is None:
            return dense.search(self.vectors, query, k)
        allowed = np.asarray(self.chunk_ids_of(doc_ids), dtype=np.int64)
        scores = self.dense_scores(query, allowed)
        order = top_k(scores, k)
        return allowed[order], scores[order]

    def keyword_search(self, question: str, depth: int, doc_ids: Sequence[str] | None = None,
                       include: Sequence[int] | np.ndarray = ()) -> tuple[np.ndarray, np.ndarray]:
        """BM25: the ``depth`` best chunks with a positive score, best first (ties by chunk id), then the
        score of each ``include``d chunk not among them (hybrid search scores its dense candidates too)."""
        import numpy as np

        ids, scores = self.lexical.chunk_ids, self.lexical.scores(question)
        if doc_ids is not None:
            keep = np.isin(ids, np.asarray(self.chunk_ids_of(doc_ids), dtype=np.int64))
            ids, scores = ids[keep], scores[keep]
        order = top_k(scores, depth)
        order = order[scores[order] > 0]
        extra = np.flatnonzero(np.isin(ids, np.asarray(include, dtype=np.int64)))
        rows = np.concatenate([order, extra[~np.isin(extra, order)]])
        return ids[rows], scores[rows]

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        return self.lexical.idf(terms)

    def vectors_of(self, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of ``chunk_ids``, chunk by chunk, one row per piece."""
        return dense.chunk_vectors(self.vectors, chunk_ids)[0]

    def dense_scores(self, query: np.ndarray, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Each chunk's dense score for ``query``: the best inner product among its pieces."""
        return dense.chunk_scores(self.vectors, query, chunk_ids)

    def passages(self, chunk_ids: Sequence[int] | np.ndarray) -> dict[int, Passage]:
        """The chunks as passages (score 0, rank 0: the retriever sets both), keyed by chunk id."""
        found: dict[int, Passage] = {}
        ids = [int(chunk_id) for chunk_id in chunk_ids]
        for offset in range(0, len(ids), 500):
            batch = ids[offset : offset + 500]
            marks = ",".join("?" * len(batch))
            sql = f"SELECT {PASSAGE_COLUMNS} FROM chunks c JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})"
            found.update((row[0], passage_of(row)) for row in self._rows(sql, batch))
        if len(found) < len(set(ids)):
            raise IndexCorruptError(f"The index at {self.index_dir} is damaged (vectors of chunks it does not hold); "
                                    f"{REBUILD_HINT}.")
        return found

    def raw_span(self, passage: Passage, clean_start: int, clean_end: int) -> tuple[int, int] | None:
        """File offsets of ``passage.clean_text[clean_start:clean_end]`` from the chunk's stored map;
        ``None`` when this generation no longer holds the chunk (its document changed since)."""
        rows = self._rows("SELECT offsets, start FROM chunks WHERE chunk_id = ? AND doc_id = ?",
                          [passage.chunk_id, passage.doc_id])
        return span_in_file(rows, passage, clean_start, clean_end)

    def headings(self, limit: int = 200) -> list[tuple[str, str]]:
        """``(title, section path)`` of the first chunks of each section, documents in order."""
        return [(title, section) for title, section in self._rows(
            "SELECT d.title, c.section FROM chunks c JOIN documents d USING (doc_id) "
            "GROUP BY c.doc_id, c.section ORDER BY c.doc_id, min(c.ordinal) LIMIT ?", [limit])]

    def chunk_ids_of(self, doc_ids: Sequence[str]) -> list[int]:
        marks = ",".join("?" * len(doc_ids))
        return [row[0] for row in self._rows(f"SELECT chunk_id FROM chunks WHERE doc_id IN ({marks})", doc_ids)]

    def documents(self) -> list[DocumentInfo]:
        rows = self._rows("SELECT d.doc_id, d.title, d.date, d.n_chunks, d.encoding, length(d.text), "
                          "(SELECT count(DISTINCT c.section) FROM chunks c WHERE c.doc_id = d.doc_id AND c.section != '') "
                          "FROM documents d ORDER BY d.doc_id")
        return [DocumentInfo(*row) for row in rows]

    def document_text(self, doc_id: str) -> str | None:
        rows = self._rows("SELECT text FROM documents WHERE doc_id = ?", [doc_id])
        return str(rows[0][0]) if rows else None

    def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._db.execute(sql, list(parameters)).fetchall()
        except sqlite3.DatabaseError as error:  # a damaged page found only when a query reads it
            raise IndexCorruptError(f"The index at {self.index_dir} is damaged ({short(error)}); "
                                    f"{REBUILD_HINT}.") from None

    def size_on_disk(self) -> int:
        folder = self.index_dir / self.manifest.generation
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())

    def close(self) -> None:
        """Done with this generation. Searches in other threads may still hold the store (an ingest has
        just swapped in the next one), so the database closes when the last holder drops it, not now:
        the finalizer set up in ``__init__`` does it."""
