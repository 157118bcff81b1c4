"""A folder into an index, incrementally: only new or changed files are embedded.

Files are compared to the manifest by content hash; byte-identical duplicates are indexed
once; files that vanished are removed; a file that exists but cannot be read now keeps its
previous version, so a bad moment loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .chunking import chunk_document, dense_texts, index_text
from .config import DENSE_UNITS, Settings
from .embedding import Embedder
from .errors import EmptyCorpusError, IndexMismatchError, InvalidQueryError, RagError
from .formats import SUFFIXES
from .loaders import LoadError, SourceFile, iter_files, load_document, read_bytes
from .store import REBUILD_HINT, Manifest
from .store.backend import open_backend
from .store.base import Backend, Writer, committed
from .store.pieces import MAX_PIECES
from .types import Chunk, Document
from .uploads import UPLOADS
from .words import count

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MIN_CHUNK_SIZE = 50  # characters: below this a chunk is a few words, not a passage
PROGRESS_MIN_CHUNKS = 64  # below this an ingest takes about a second: no progress bar


@dataclass
class IngestReport:
    """What one ingest changed; every skipped file is named with its reason."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)  # duplicate -> the file indexed instead
    skipped: dict[str, str] = field(default_factory=dict)  # file -> reason
    chunks_embedded: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self, removals: bool = True) -> str:
        """``1 added, 0 updated, 0 removed, 2 unchanged; 3 chunks embedded in 0.4 s`` (``removals``: say
        how many were removed, which an upload never does)."""
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated",
                 *([f"{len(self.removed)} removed"] if removals else []), f"{len(self.unchanged)} unchanged"]
        if self.duplicates:
            parts.append(f"{count(len(self.duplicates), 'duplicate')} skipped")
        if self.skipped:
            parts.append(f"{count(len(self.skipped), 'file')} skipped")
        return f"{', '.join(parts)}; {count(self.chunks_embedded, 'chunk')} embedded in {self.seconds:.1f} s"


def ingest(
    folder: Path,
    settings: Settings,
    embedder: Embedder,
    rebuild: bool = False,
    progress: bool = False,
    paths: list[Path] | None = None,
) -> IngestReport:
    """Bring the index at ``settings.index_dir`` in line with ``folder``.

    With ``paths`` only those files (inside ``folder``) are added or updated and nothing is
    removed: that is how an upload joins an index built from another folder. Documents under
    ``uploads/`` are never removed by a folder ingest.
    """
    started = time.perf_counter()
    if not folder.is_dir():
        raise RagError(f"The folder {folder} does not exist or is not a folder.")
    if settings.chunk_size < MIN_CHUNK_SIZE:
        raise InvalidQueryError(f"--chunk-size must be at least {MIN_CHUNK_SIZE} characters, not {settings.chunk_size}.")
    if settings.dense_unit not in DENSE_UNITS:
        raise InvalidQueryError(f"RAG_DENSE_UNIT must be one of {', '.join(DENSE_UNITS)}, not {settings.dense_unit!r}.")
    if not 0 <= settings.chunk_overlap < settings.chunk_size:
        raise InvalidQueryError(f"--chunk-overlap must be at least 0 and smaller than the chunk size "
                                f"({settings.chunk_size}), not {settings.chunk_overlap}.")
    index_dir = settings.index_path  # also where uploads are kept with any backend
    backend = open_backend(settings)
    with backend.lock():
        previous = None if rebuild else backend.previous()
        if previous and previous.settings != settings.index_settings():
            raise IndexMismatchError(
                f"The index at {backend.location} was built with {previous.settings}, not {settings.index_settings()}; "
                f"{REBUILD_HINT}, or use the settings it was built with."
            )
        held = 0
        if previous is not None:  # a damaged index is reported with its fix, not extended or left as it is
            store = backend.reader(previous)
            held = len(store.documents())  # reading the documents table also finds its damaged pages
            store.close()
        report = IngestReport()
        documents = _scan(folder, previous, report, paths, settings.max_file_bytes)
        uploads = index_dir / UPLOADS
        if previous is None and paths is None and uploads.is_dir():  # a rebuild keeps what people uploaded
            kept = sorted(path for path in uploads.iterdir() if path.is_file())
            documents += _scan(index_dir, None, report, kept, settings.max_file_bytes)
        if previous is None and not documents:
            raise EmptyCorpusError(f"No readable documents in {folder} (supported: {', '.join(SUFFIXES)}).")
        if previous is not None and not documents and held and len(report.removed) >= held:
            raise EmptyCorpusError(  # an emptied or wrong folder must not wipe the index
                f"No readable documents in {folder}, so the index at {index_dir} keeps its {held} documents; "
                f"ingest the folder that holds them, or delete {index_dir} to start over.")
        if report.changed or previous is None:
            if backend.local:
                _check_space(index_dir, previous, documents, settings)
            _write(backend, previous, settings, embedder, documents, report, progress)
        else:
            backend.tidy(previous)
    report.seconds = time.perf_counter() - started
    log.info("ingest %s: %s", folder, report.summary())
    return report


def _scan(
    folder: Path, previous: Manifest | None, report: IngestReport, paths: list[Path] | None, max_bytes: int
) -> list[Document]:
    """Sort the folder's files into unchanged, new or changed (decoded), duplicates and skipped."""
    known = {doc_id: entry["hash"] for doc_id, entry in (previous.files if previous else {}).items()}
    if paths is None:
        sources = list(iter_files(folder))
    else:
        sources = [SourceFile(path, path.resolve().relative_to(folder.resolve()).as_posix()) for path in paths]
    hashes: dict[str, str] = {}
    contents: dict[str, bytes] = {}  # kept only for files that will be decoded
    for source in sources:
        try:
            data = read_bytes(source, max_bytes)
        except LoadError as error:
            report.skipped[source.rel] = str(error)
            continue
        hashes[source.rel] = hashlib.sha256(data).hexdigest()
        if known.get(source.rel) != hashes[source.rel]:
            contents[source.rel] = data
    # files already indexed unchanged claim their content first, so a new copy is the duplicate
    owner = {digest: rel for rel, digest in hashes.items() if known.get(rel) == digest}
    documents = []
    for source in sources:
        rel = source.rel
        if rel not in hashes:
            continue
        digest = hashes[rel]
        if owner.setdefault(digest, rel) != rel:
            report.duplicates[rel] = owner[digest]
        elif known.get(rel) == digest:
            report.unchanged.append(rel)
        else:
            try:
                documents.append(load_document(source, contents[rel]))
            except LoadError as error:
                report.skipped[rel] = str(error)
                del owner[digest]
                continue
            (report.updated if rel in known else report.added).append(rel)
    if paths is None:
        present = {source.rel for source in sources}
        kept = set(report.unchanged) | set(report.updated) | {rel for rel in report.skipped if rel in known}
        report.removed = sorted(
            rel for rel in known
            if rel not in kept and (rel not in present or rel in report.duplicates) and not rel.startswith(UPLOADS)
        )
    return documents


def _check_space(index_dir: Path, previous: Manifest | None, documents: list[Document], settings: Settings) -> None:
    """Refuse before embedding when the disk cannot hold the next generation, rather than after minutes of it.

    The next generation is a copy of the current one plus the new documents: their text about six
    times (document, chunk, visible and indexed text, maps, BM25), and a float32 vector per chunk or per
    sentence (one per 60 characters at most, counting the overlap twice).
    """
    import shutil

    current = sum(int(entry.get("bytes", 0)) for entry in previous.store.values()) if previous else 0
    characters = sum(len(document.text) for document in documents)
    chunks = characters // max(1, settings.chunk_size - settings.chunk_overlap) + len(documents)
    if settings.dense_unit == "sentence":
        chunks += 2 * characters // 60
    needed = current + 6 * characters + chunks * 4 * 1024 + (1 << 20)  # 1024: vectors up to that many dimensions
    free = shutil.disk_usage(index_dir).free  # the write lock has made the folder
    if free < needed:
        raise RagError(f"Not enough free space for the index at {index_dir}: about {needed / 1e6:,.0f} MB needed, "
                       f"{free / 1e6:,.0f} MB free; free some space or pass --index on another disk.")


def _write(
    backend: Backend,
    previous: Manifest | None,
    settings: Settings,
    embedder: Embedder,
    documents: list[Document],
    report: IngestReport,
    progress: bool,
) -> None:
    chunked: list[tuple[Document, list[Chunk]]] = [
        (document, chunk_document(document, settings.chunk_size, settings.chunk_overlap)) for document in documents
    ]
    texts = [index_text(document.title, chunk.section, chunk.clean_text) for document, chunks in chunked
             for chunk in chunks]
    embedded = [dense_texts(document.title, chunk.section, chunk.clean_text, settings.dense_unit, MAX_PIECES)
                for document, chunks in chunked for chunk in chunks]
    with committed(backend.writer(previous, settings.index_settings(), embedder.dimension)) as writer:
        vectors = _vectors(writer, embedder, texts, embedded, [*report.updated, *report.removed], report, progress)
        for doc_id in report.removed:
            writer.remove(doc_id)
        offset = 0
        for document, chunks in chunked:
            end = offset + len(chunks)
            writer.add(document, chunks, texts[offset:end], vectors[offset:end])
            offset = end


def _vectors(writer: Writer, embedder: Embedder, texts: list[str], embedded: list[list[str]], replaced: list[str],
             report: IngestReport, progress: bool) -> list[np.ndarray]:
    """Each chunk's vectors (one row per text in ``embedded``): reused where a replaced or removed document held
    a chunk with the same indexed text (same model, backend and dense unit: the index refuses others),
    embedded otherwise."""
    import numpy as np

    stored = writer.stored_vectors(replaced)
    fresh = [number for number, text in enumerate(texts) if text not in stored]
    missing = list(dict.fromkeys(piece for number in fresh for piece in embedded[number]))
    vectors: dict[str, np.ndarray] = {}
    if missing:
        vectors = dict(zip(missing, embedder.embed(missing, progress=progress and len(fresh) >= PROGRESS_MIN_CHUNKS)))
    report.chunks_embedded = len({texts[number] for number in fresh})
    return [stored[text] if text in stored else np.vstack([vectors[piece] for piece in pieces]).astype(np.float32)
            for text, pieces in zip(texts, embedded, strict=True)]
