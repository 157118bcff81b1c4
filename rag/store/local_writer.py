"""The local store's writer: builds the next generation from the current one (or from nothing) and
publishes it through the manifest (``rag.store.manifest``); ``rag.store.local`` reads it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexMismatchError
from ..types import Chunk, Document
from . import vectors as dense
from .lexical import Lexical, tokenize
from .local import SCHEMA
from .manifest import REBUILD_HINT, Manifest, file_table, remove_stale, sync_tree, write_manifest
from .pieces import bits_for

if TYPE_CHECKING:
    import numpy as np


class Writer:
    """Builds the next generation from the current one (or from nothing) and swaps it in."""

    def __init__(self, index_dir: Path, previous: Manifest | None, settings: dict[str, Any], dimension: int,
                 policy: dense.Policy = dense.AUTO) -> None:
        self.index_dir, self.policy = index_dir, policy
        self.generation = previous.next_generation() if previous else "gen-000001"
        self.folder = index_dir / f"{self.generation}.tmp-{os.getpid()}"
        remove_stale(index_dir, keep=previous.generation if previous else None)
        self.folder.mkdir(parents=True)
        if previous:
            shutil.copyfile(index_dir / previous.generation / "chunks.sqlite", self.folder / "chunks.sqlite")
            self.vectors = dense.read_vectors(index_dir / previous.generation / "vectors.faiss", previous.vectors,
                                              bits_for(previous.settings))
            if self.vectors.d != dimension:
                raise IndexMismatchError(
                    f"The index has {self.vectors.d}-d vectors, the model gives {dimension}-d; {REBUILD_HINT}.")
        else:
            self.vectors = dense.new_vectors(dimension, bits=bits_for(settings))
        self.files = dict(previous.files) if previous else {}
        self.settings = settings
        self.dimension = dimension
        self.db = sqlite3.connect(self.folder / "chunks.sqlite")
        self.db.executescript(SCHEMA)

    def remove(self, doc_id: str) -> None:
        import numpy as np

        ids = [row[0] for row in self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", [doc_id])]
        if ids:
            self.vectors.remove_chunks(np.asarray(ids, dtype=np.int64))
        self.db.execute("DELETE FROM terms WHERE chunk_id IN (SELECT chunk_id FROM chunks WHERE doc_id = ?)", [doc_id])
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", [doc_id])
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", [doc_id])
        self.files.pop(doc_id, None)

    def add(self, document: Document, chunks: Sequence[Chunk], indexed_texts: Sequence[str],
            vectors: Sequence[np.ndarray]) -> None:
        """Replace ``document`` with these chunks; ``indexed_texts`` are kept for BM25, ``vectors`` holds each
        chunk's vectors (one row per piece)."""
        import numpy as np

        self.remove(document.doc_id)
        first = max((self.db.execute("SELECT max(chunk_id) FROM chunks").fetchone()[0] or 0) + 1, self.vectors.next_id)
        ids = np.arange(first, first + len(chunks), dtype=np.int64)
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            [document.doc_id, document.title, document.date, document.content_hash, document.encoding, document.text,
             len(chunks)],
        )
        self.db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(int(chunk_id), chunk.doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.line_start, chunk.line_end,
              chunk.text, chunk.clean_text, chunk.section, chunk.page, indexed, chunk.offsets)
             for chunk_id, chunk, indexed in zip(ids, chunks, indexed_texts, strict=True)],
        )
        self.vectors.add_chunks(ids, vectors)
        self.files[document.doc_id] = {
            "hash": document.content_hash, "title": document.title, "date": document.date, "chunks": len(chunks)
        }

    def stored_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors already held for the chunks of ``doc_ids`` (one row per piece), by indexed text: an edited
        or renamed file re-embeds only the chunks whose text changed."""
        import numpy as np

        rows = [row for doc_id in doc_ids for row in
                self.db.execute("SELECT chunk_id, indexed_text FROM chunks WHERE doc_id = ?", [doc_id])]
        if not rows:
            return {}
        matrix, counts = dense.chunk_vectors(self.vectors, [chunk_id for chunk_id, _ in rows])
        return dict(zip((text for _, text in rows), np.split(matrix, np.cumsum(counts)[:-1])))

    def _terms(self) -> tuple[np.ndarray, list[list[str]]]:
        """Chunk ids and BM25 terms of every chunk, in chunk id order. Terms are kept in the ``terms`` table,
        so only chunks added since the last generation (or by a version that kept none) are tokenized."""
        import numpy as np

        rows = self.db.execute("SELECT c.chunk_id, c.indexed_text, t.terms FROM chunks c "
                               "LEFT JOIN terms t USING (chunk_id) ORDER BY c.chunk_id").fetchall()
        new = {chunk_id: tokenize(text) for chunk_id, text, kept in rows if kept is None}
        self.db.executemany("INSERT INTO terms VALUES (?, ?)", [(chunk_id, " ".join(found))
                                                              for chunk_id, found in new.items()])
        terms = [new[chunk_id] if kept is None else kept.split(" ") if kept else [] for chunk_id, _, kept in rows]
        return np.asarray([row[0] for row in rows], dtype=np.int64), terms

    def commit(self) -> Manifest:
        """Build BM25 over every chunk, write everything, sync it, then swap the manifest."""
        chunk_ids, terms = self._terms()
        lexical = Lexical.from_terms(terms, chunk_ids)
        self.db.commit()
        self.db.close()
        lexical.save(self.folder / "bm25")
        kind = dense.write_vectors(dense.settle(self.vectors, self.policy), self.folder / "vectors.faiss")
        sync_tree(self.folder)
        table = file_table(self.folder)
        os.replace(self.folder, self.index_dir / self.generation)
        manifest = Manifest(generation=self.generation, settings=self.settings, dimension=self.dimension,
                            files=self.files, updated=datetime.now(UTC).isoformat(timespec="seconds"), store=table,
                            vectors=kind)
        write_manifest(self.index_dir, manifest)
        remove_stale(self.index_dir, keep=self.generation)
        return manifest

    def abort(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
