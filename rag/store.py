"""The index on disk: FAISS vectors, SQLite metadata and a manifest; the one importer of faiss.

Layout of an index folder::

    manifest.json          names the current generation; replaced atomically, last
    gen-000007/chunks.sqlite  documents and chunks (text, offsets, lines)
    gen-000007/vectors.faiss  IndexIDMap2(IndexFlatIP) keyed by chunk id
    gen-000007/bm25/          the BM25 index and its row -> chunk id map

A write builds a whole new generation beside the current one, syncs it, then swaps the
manifest: a crash at any moment leaves either the old index or the new one, never a mix.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chunking import index_text
from .config import INDEX_FIELDS
from .errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from .lexical import Lexical

if TYPE_CHECKING:
    import numpy as np

    from .types import Chunk, Document

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REBUILD_HINT = "run `rag ingest --rebuild` to build it again"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, content_hash TEXT NOT NULL,
    encoding TEXT NOT NULL, text TEXT NOT NULL, n_chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id), ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, line_start INTEGER NOT NULL, line_end INTEGER NOT NULL,
    text TEXT NOT NULL, clean_text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
"""


@dataclass
class Manifest:
    """What built the index and what it holds; one content hash per file drives incremental ingest."""

    generation: str
    settings: dict[str, Any]
    dimension: int
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # doc_id -> {hash, title, date, chunks}
    format: int = FORMAT_VERSION
    updated: str = ""

    @property
    def chunk_count(self) -> int:
        return sum(int(entry["chunks"]) for entry in self.files.values())


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexNotFoundError(f"No index at {index_dir}: run `rag ingest DIR --index {index_dir}` first.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest(**data)
    except (ValueError, TypeError, OSError) as error:
        raise IndexCorruptError(f"The index manifest {path} is damaged ({_short(error)}); {REBUILD_HINT}.") from None
    if manifest.format != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {index_dir} has format {manifest.format}, this version reads {FORMAT_VERSION}; {REBUILD_HINT}."
        )
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexCorruptError(f"The index manifest {path} is damaged ({problem}); {REBUILD_HINT}.")
    return manifest


_GENERATION = re.compile(r"gen-\d{6}")


def _manifest_problem(manifest: Manifest) -> str | None:
    """What makes a parsed manifest unusable, or None: later code indexes into it without checks."""
    if not isinstance(manifest.generation, str) or not _GENERATION.fullmatch(manifest.generation):
        return f"generation {manifest.generation!r} is not a gen-NNNNNN folder"
    if not isinstance(manifest.settings, dict) or not all(name in manifest.settings for name in INDEX_FIELDS):
        return f"settings lack one of {', '.join(INDEX_FIELDS)}"
    if not isinstance(manifest.dimension, int) or manifest.dimension < 1:
        return f"dimension {manifest.dimension!r} is not a positive integer"
    entries = manifest.files.values() if isinstance(manifest.files, dict) else None
    if entries is None or not all(isinstance(entry, dict) and isinstance(entry.get("chunks"), int)
                                  and isinstance(entry.get("hash"), str) for entry in entries):
        return "the file list is not a mapping of files to their hash and chunk count"
    return None


def _faiss():  # type: ignore[no-untyped-def]
    try:
        import faiss
    except ImportError:
        raise ImportError("faiss is not installed: run `pip install faiss-cpu`.") from None
    return faiss


class Store:
    """One generation opened for reading: chunk look-ups, dense search, document texts."""

    def __init__(self, index_dir: Path, manifest: Manifest) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        folder = index_dir / manifest.generation
        try:
            self._db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            weakref.finalize(self, self._db.close)
            self._db.execute("SELECT count(*) FROM chunks").fetchone()
            self.vectors = _faiss().read_index(str(folder / "vectors.faiss"))
            self.lexical = Lexical.load(folder / "bm25")
        except (sqlite3.Error, RuntimeError, OSError, ValueError, KeyError) as error:
            raise IndexCorruptError(f"The index at {index_dir} is damaged ({_short(error)}); {REBUILD_HINT}.") from None
        if self.vectors.ntotal != manifest.chunk_count or self.vectors.d != manifest.dimension:
            raise IndexCorruptError(
                f"The index at {index_dir} is inconsistent ({self.vectors.ntotal} vectors of {self.vectors.d} dimensions "
                f"for {manifest.chunk_count} chunks of {manifest.dimension}); {REBUILD_HINT}."
            )
        self._lock = threading.Lock()

    def dense_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and inner-product scores of the ``k`` nearest vectors, best first."""
        scores, ids = self.vectors.search(query.reshape(1, -1), min(k, self.vectors.ntotal))
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def vectors_of(self, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        import numpy as np

        return np.vstack([self.vectors.reconstruct(int(chunk_id)) for chunk_id in chunk_ids])

    def chunk_rows(self, chunk_ids: Sequence[int] | np.ndarray) -> dict[int, dict[str, Any]]:
        """Chunk metadata with its document's title and date, keyed by chunk id."""
        rows: dict[int, dict[str, Any]] = {}
        ids = [int(chunk_id) for chunk_id in chunk_ids]
        for offset in range(0, len(ids), 500):
            batch = ids[offset : offset + 500]
            marks = ",".join("?" * len(batch))
            for row in self._query(
                'SELECT c.chunk_id, c.doc_id, c.ordinal, c.start, c."end", c.line_start, c.line_end, c.text, '
                f"c.clean_text, d.title, d.date FROM chunks c JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})",
                batch,
            ):
                rows[row["chunk_id"]] = row
        return rows

    def chunk_ids_of(self, doc_ids: Sequence[str]) -> list[int]:
        marks = ",".join("?" * len(doc_ids))
        return [row["chunk_id"] for row in self._query(f"SELECT chunk_id FROM chunks WHERE doc_id IN ({marks})", doc_ids)]

    def documents(self) -> list[dict[str, Any]]:
        return self._query(
            "SELECT doc_id, title, date, n_chunks, encoding, length(text) AS n_chars FROM documents ORDER BY doc_id"
        )

    def document_text(self, doc_id: str) -> str | None:
        rows = self._query("SELECT text FROM documents WHERE doc_id = ?", [doc_id])
        return str(rows[0]["text"]) if rows else None

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(sql, list(parameters))
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def size_on_disk(self) -> int:
        folder = self.index_dir / self.manifest.generation
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())

    def close(self) -> None:
        """Done with this generation. Searches in other threads may still hold the store (an ingest has
        just swapped in the next one), so the database closes when the last holder drops it, not now:
        the finalizer set up in ``__init__`` does it."""


def _short(error: BaseException) -> str:
    return str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__


@contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder, across processes."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Writer:
    """Builds the next generation from the current one (or from nothing) and swaps it in."""

    def __init__(self, index_dir: Path, previous: Manifest | None, settings: dict[str, Any], dimension: int) -> None:
        self.index_dir = index_dir
        number = int(previous.generation.split("-")[1]) + 1 if previous else 1
        self.generation = f"gen-{number:06d}"
        self.folder = index_dir / f"{self.generation}.tmp-{os.getpid()}"
        _remove_stale(index_dir, keep=previous.generation if previous else None)
        self.folder.mkdir(parents=True)
        if previous:
            shutil.copyfile(index_dir / previous.generation / "chunks.sqlite", self.folder / "chunks.sqlite")
            vectors = _faiss().read_index(str(index_dir / previous.generation / "vectors.faiss"))
            if vectors.d != dimension:
                raise IndexMismatchError(f"The index has {vectors.d}-d vectors, the model gives {dimension}-d; {REBUILD_HINT}.")
        else:
            faiss = _faiss()
            vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self.vectors = vectors
        self.files = dict(previous.files) if previous else {}
        self.settings = settings
        self.dimension = dimension
        self.db = sqlite3.connect(self.folder / "chunks.sqlite")
        self.db.executescript(_SCHEMA)

    def remove(self, doc_id: str) -> None:
        import numpy as np

        ids = [row[0] for row in self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", [doc_id])]
        if ids:
            self.vectors.remove_ids(np.asarray(ids, dtype=np.int64))
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", [doc_id])
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])
        self.files.pop(doc_id, None)

    def add(self, document: Document, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        import numpy as np

        self.remove(document.doc_id)
        first = (self.db.execute("SELECT max(chunk_id) FROM chunks").fetchone()[0] or 0) + 1
        ids = np.arange(first, first + len(chunks), dtype=np.int64)
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            [document.doc_id, document.title, document.date, document.content_hash, document.encoding, document.text,
             len(chunks)],
        )
        self.db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (int(chunk_id), chunk.doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.line_start, chunk.line_end,
                 chunk.text, chunk.clean_text)
                for chunk_id, chunk in zip(ids, chunks)
            ],
        )
        if len(chunks):
            self.vectors.add_with_ids(vectors, ids)
        self.files[document.doc_id] = {
            "hash": document.content_hash, "title": document.title, "date": document.date, "chunks": len(chunks)
        }

    def commit(self) -> Manifest:
        """Write everything, sync it, then point the manifest at the new generation."""
        import numpy as np

        self.db.commit()
        rows = self.db.execute("SELECT chunk_id, text, clean_text, doc_id FROM chunks ORDER BY chunk_id").fetchall()
        titles = dict(self.db.execute("SELECT doc_id, title FROM documents").fetchall())
        self.db.close()
        texts = [index_text(titles[doc_id], clean) for _, _, clean, doc_id in rows]
        Lexical.build(texts, np.asarray([row[0] for row in rows], dtype=np.int64)).save(self.folder / "bm25")
        _faiss().write_index(self.vectors, str(self.folder / "vectors.faiss"))
        _sync_tree(self.folder)
        final = self.index_dir / self.generation
        os.replace(self.folder, final)
        manifest = Manifest(
            generation=self.generation,
            settings=self.settings,
            dimension=self.dimension,
            files=self.files,
            updated=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        temporary = self.index_dir / f"{MANIFEST}.tmp-{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(asdict(manifest), handle, indent=1, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.index_dir / MANIFEST)
        _sync_dir(self.index_dir)
        _remove_stale(self.index_dir, keep=self.generation)
        return manifest

    def abort(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _remove_stale(index_dir: Path, keep: str | None) -> None:
    """Remove generations and temporary files that the manifest does not name (left by crashes)."""
    for path in index_dir.iterdir():
        stale = path.name.startswith("gen-") or path.name.startswith(f"{MANIFEST}.tmp")
        if stale and path.name != keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _sync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    for path in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        _sync_dir(path)


def _sync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
