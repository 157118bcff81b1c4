"""The front door: an opened index that searches (and, with ``rag.answer``, answers).

    index = rag.build_index("seeds", ".rag/index")
    index.search("Who opened the first course?", k=3)
    # [Passage(text="The respected Comrade **Kim Jong Un** made an opening address.", score=0.91, rank=1,
    #          source="001_b8239f67380c7682.txt", ...), ...]
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import MODES, SUPPORTED_SUFFIXES, Settings, load_settings
from .embedding import Embedder, SentenceTransformerEmbedder
from .errors import IndexMismatchError, InvalidQueryError
from .ingest import UPLOADS, IngestReport, ingest
from .retriever import convex_fusion, top_k
from .store import MANIFEST, REBUILD_HINT, Store, read_manifest
from .types import Answer, Passage

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

VECTOR_CACHE_SIZE = 8192  # about 12 MB of 384-d vectors


class Index:
    """A persisted index opened for search; thread-safe, reloadable after an ingest."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._lock = threading.RLock()
        self._vector_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.last_ingest: IngestReport | None = None
        self.reload()

    @property
    def path(self) -> Path:
        return self.settings.index_path

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = SentenceTransformerEmbedder(self.settings.model, self.settings.batch_size)
        return self._embedder

    def reload(self) -> None:
        """Open the current generation (after an ingest by this or another process)."""
        manifest = read_manifest(self.path)
        stored = manifest.settings
        if stored["model"] != self.settings.model:
            raise IndexMismatchError(
                f"The index at {self.path} was built with model {stored['model']!r}, not {self.settings.model!r}; "
                f"{REBUILD_HINT}, or unset RAG_MODEL."
            )
        store = Store(self.path, manifest)
        self._manifest_stamp = _stamp(self.path)
        with self._lock:
            old, self.store = getattr(self, "store", None), store
            self.settings = replace(self.settings, chunk_size=stored["chunk_size"], chunk_overlap=stored["chunk_overlap"])
        if old is not None:
            old.close()

    def ingest(self, folder: str | Path, rebuild: bool = False, progress: bool = False,
               paths: Sequence[Path] | None = None) -> IngestReport:
        """Update this index from ``folder`` (or only ``paths`` inside it), then reload it."""
        report = ingest(Path(folder), self.settings, self.embedder, rebuild=rebuild, progress=progress,
                        paths=list(paths) if paths is not None else None)
        self.last_ingest = report
        if report.changed:
            self.reload()
        return report

    def add_files(self, files: Sequence[str | Path]) -> IngestReport:
        """Copy uploaded files into ``<index>/uploads`` and index them beside the existing documents.

        Only the base name of each file is kept, so a name like ``../../x.txt`` cannot write elsewhere.
        """
        uploads = self.path / UPLOADS
        uploads.mkdir(parents=True, exist_ok=True)
        targets = []
        for file in files:
            source = Path(file)
            name = _safe_name(source.name)
            if source.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise InvalidQueryError(f"{name}: unsupported file type; upload {', '.join(SUPPORTED_SUFFIXES)} files.")
            if source.stat().st_size > self.settings.max_file_bytes:
                raise InvalidQueryError(f"{name} is over the {self.settings.max_file_bytes / 1e6:.0f} MB upload limit.")
            target = uploads / name
            shutil.copyfile(source, target)
            targets.append(target)
        return self.ingest(self.path, paths=targets)

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first, ranks from 1.

        ``mode`` is ``hybrid`` (default), ``dense`` or ``bm25``; ``sources`` keeps only passages
        from those files (paths as ingested).
        """
        question = self.check_question(question)
        k = self.settings.k if k is None else k
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InvalidQueryError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
        if k < 1:
            raise InvalidQueryError(f"k must be at least 1, not {k}.")
        if _stamp(self.path) != self._manifest_stamp:  # another process ingested: serve the new generation
            self.reload()
        with self._lock:
            store = self.store
        allowed = self._allowed(store, sources)
        ids, scores = self._rank(store, question, k, mode, allowed)
        rows = store.chunk_rows(ids)
        return [_passage(rows[int(chunk_id)], float(score), rank) for rank, (chunk_id, score) in enumerate(zip(ids, scores), 1)]

    def ask(self, question: str, k: int = 5, mode: str | None = None, history: Sequence[str] = ()) -> Answer:
        """A short answer citing the passages it comes from, or an abstention.

        ``history`` holds the previous questions of a conversation, most recent last.
        """
        *_, final = self.ask_stream(question, k=k, mode=mode, history=history)
        return final

    def ask_stream(self, question: str, k: int = 5, mode: str | None = None,
                   history: Sequence[str] = ()) -> Iterator[Answer]:
        """Like ``ask``, yielding the answer as it grows (an LLM streams it); the last one is final."""
        from .answer import answer_stream

        return answer_stream(self, question, k=k, mode=mode, history=history)

    def check_question(self, question: str) -> str:
        """The question stripped, or an ``InvalidQueryError`` a person can act on."""
        text = (question or "").strip()
        if not text:
            raise InvalidQueryError("Please type a question: this one is empty.")
        if len(text) > self.settings.max_question_chars:
            raise InvalidQueryError(
                f"The question is {len(text):,} characters long; keep it under {self.settings.max_question_chars:,}."
            )
        return text

    def _allowed(self, store: Store, sources: Sequence[str] | None) -> np.ndarray | None:
        import numpy as np

        if sources is None:
            return None
        return np.asarray(store.chunk_ids_of(list(sources)), dtype=np.int64)

    def _rank(self, store: Store, question: str, k: int, mode: str,
              allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        lexical = store.lexical
        if mode == "bm25":
            scores = lexical.scores(question)
            ids = lexical.chunk_ids
            if allowed is not None:
                keep = np.isin(ids, allowed)
                ids, scores = ids[keep], scores[keep]
            order = top_k(scores, k)
            order = order[scores[order] > 0]
            return ids[order], scores[order]
        query = self.embed_query(question)
        depth = k if mode == "dense" else max(k, self.settings.fusion_depth)
        if allowed is not None:
            dense_ids = allowed
            dense_scores = store.vectors_of(allowed) @ query if len(allowed) else np.zeros(0, np.float32)
            order = top_k(dense_scores, depth)
            dense_ids, dense_scores = dense_ids[order], dense_scores[order]
        else:
            dense_ids, dense_scores = store.dense_search(query, depth)
        if mode == "dense":
            return dense_ids, dense_scores
        all_lexical = lexical.scores(question)
        lexical_ids = lexical.chunk_ids
        if allowed is not None:
            keep = np.isin(lexical_ids, allowed)
            lexical_ids, all_lexical = lexical_ids[keep], all_lexical[keep]
        best_lexical = top_k(all_lexical, depth)
        best_lexical = best_lexical[all_lexical[best_lexical] > 0]
        candidates = np.unique(np.concatenate([dense_ids, lexical_ids[best_lexical]]))
        if not len(candidates):
            return candidates, np.zeros(0, np.float32)
        position = {int(chunk_id): row for row, chunk_id in enumerate(lexical_ids)}
        candidate_lexical = np.asarray([all_lexical[position[int(c)]] for c in candidates], dtype=np.float32)
        candidate_dense = store.vectors_of(candidates) @ query
        fused = convex_fusion(candidate_dense, candidate_lexical, self.settings.fusion_weight)
        order = top_k(fused, k)
        return candidates[order], fused[order]

    def embed_query(self, question: str) -> np.ndarray:
        """The question's vector (cached: the eval asks each question in every mode)."""
        return self.embed_cached([question])[0]

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts``; recent texts (questions, evidence sentences) are not embedded twice."""
        import numpy as np

        with self._lock:
            missing = list(dict.fromkeys(text for text in texts if text not in self._vector_cache))
        if missing:
            vectors = self.embedder.embed(missing)
            with self._lock:
                self._vector_cache.update(zip(missing, vectors))
                while len(self._vector_cache) > VECTOR_CACHE_SIZE:
                    self._vector_cache.popitem(last=False)
        with self._lock:
            found = [vector for text in texts if (vector := self._vector_cache.get(text)) is not None]
        if len(found) < len(texts):  # evicted meanwhile by other threads: embed directly
            return self.embedder.embed(list(texts))
        return np.vstack(found) if found else np.zeros((0, 1), dtype=np.float32)

    def documents(self) -> list[dict[str, Any]]:
        """Title, date, chunk count, encoding and size of every indexed document."""
        return self.store.documents()

    def document_text(self, doc_id: str) -> str | None:
        return self.store.document_text(doc_id)

    def info(self) -> dict[str, Any]:
        manifest = self.store.manifest
        return {
            "index": str(self.path),
            "documents": len(manifest.files),
            "chunks": manifest.chunk_count,
            "model": manifest.settings["model"],
            "dimension": manifest.dimension,
            "chunk_size": manifest.settings["chunk_size"],
            "chunk_overlap": manifest.settings["chunk_overlap"],
            "bytes_on_disk": self.store.size_on_disk(),
            "updated": manifest.updated,
        }


def _stamp(index_dir: Path) -> tuple[int, int]:
    """Identifies the manifest file: a swap by any writer changes its inode."""
    try:
        status = (index_dir / MANIFEST).stat()
    except OSError:
        return (0, 0)
    return (status.st_ino, status.st_mtime_ns)


def _safe_name(name: str) -> str:
    """A file name with no directory part and no characters that could mean one."""
    cleaned = re.sub(r"[^\w.\- ]", "_", Path(name.replace("\\", "/")).name).strip(". ")
    return cleaned or "upload.txt"


def _passage(row: dict[str, Any], score: float, rank: int) -> Passage:
    return Passage(
        text=row["text"], score=score, rank=rank, source=row["doc_id"], title=row["title"], doc_id=row["doc_id"],
        chunk_id=int(row["chunk_id"]), start=row["start"], end=row["end"], line_start=row["line_start"],
        line_end=row["line_end"], date=row["date"], clean_text=row["clean_text"],
    )


def load_index(index_dir: str | Path | None = None, settings: Settings | None = None,
               embedder: Embedder | None = None) -> Index:
    """Open an existing index; the model it was built with is used unless ``RAG_MODEL`` says otherwise."""
    settings = settings or load_settings()
    path = Path(index_dir) if index_dir is not None else settings.index_path
    manifest = read_manifest(path)
    model = settings.model if settings.model != Settings().model else manifest.settings["model"]
    return Index(replace(settings, index_dir=str(path), model=model), embedder)


def build_index(folder: str | Path = "seeds", index_dir: str | Path | None = None, settings: Settings | None = None,
                embedder: Embedder | None = None, rebuild: bool = False, progress: bool = False) -> Index:
    """Build the index for ``folder``, or update it incrementally, and return it opened."""
    settings = settings or load_settings()
    if index_dir is not None:
        settings = replace(settings, index_dir=str(index_dir))
    embedder = embedder or SentenceTransformerEmbedder(settings.model, settings.batch_size)
    report = ingest(Path(folder), settings, embedder, rebuild=rebuild, progress=progress)
    index = Index(settings, embedder)
    index.last_ingest = report
    return index
