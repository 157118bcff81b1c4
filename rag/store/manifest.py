"""The manifest: which generation is current and what built it; validated on read, swapped atomically.

Layout of an index folder::

    manifest.json             names the current generation; replaced atomically, last
    .lock                     one writer at a time, across processes
    gen-000007/               one generation (written by ``rag.store.local.Writer``)

A write builds a whole new generation beside the current one, syncs it, then replaces the
manifest: a crash at any moment leaves either the old index or the new one, never a mix.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import INDEX_FIELDS, LEGACY_BACKEND, LEGACY_DENSE_UNIT
from ..errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, RagError

FORMAT_VERSION = 3  # 2: chunks keep their indexed text, section and page; 3: and their map to the file
MANIFEST = "manifest.json"
REBUILD_HINT = "run `rag ingest --rebuild` to build it again"
_GENERATION = re.compile(r"gen-\d{6}")


@dataclass
class Manifest:
    """What built the index and what it holds; one content hash per file drives incremental ingest."""

    generation: str
    settings: dict[str, Any]
    dimension: int
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # doc_id -> {hash, title, date, chunks}
    format: int = FORMAT_VERSION
    updated: str = ""
    store: dict[str, dict[str, Any]] = field(default_factory=dict)  # generation file -> {bytes, sha256}
    vectors: dict[str, Any] = field(default_factory=dict)  # the FAISS index type and parameters; empty: exact

    @property
    def chunk_count(self) -> int:
        return sum(int(entry["chunks"]) for entry in self.files.values())

    def next_generation(self) -> str:
        return f"gen-{int(self.generation.split('-')[1]) + 1:06d}"


def read_manifest(index_dir: Path) -> Manifest:
    """The current manifest, or an error that names the fix (missing, damaged, other format)."""
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexNotFoundError(f"No index at {index_dir}: run `rag ingest DIR --index {index_dir}` first.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest(**data)
        if isinstance(manifest.settings, dict):
            manifest.settings.setdefault("backend", LEGACY_BACKEND)
            manifest.settings.setdefault("dense_unit", LEGACY_DENSE_UNIT)
    except (ValueError, TypeError, OSError) as error:
        raise IndexCorruptError(f"The index manifest {path} is damaged ({short(error)}); {REBUILD_HINT}.") from None
    if manifest.format != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {index_dir} has format {manifest.format}, this version reads {FORMAT_VERSION}; {REBUILD_HINT}."
        )
    problem = _problem(manifest)
    if problem:
        raise IndexCorruptError(f"The index manifest {path} is damaged ({problem}); {REBUILD_HINT}.")
    return manifest


def _problem(manifest: Manifest) -> str | None:
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
    if not isinstance(manifest.vectors, dict) or manifest.vectors.get("kind", "flat") not in ("flat", "hnsw"):
        return f"vector index {manifest.vectors!r} is neither flat nor hnsw"
    store = manifest.store
    if not isinstance(store, dict) or not all(
            isinstance(entry, dict) and isinstance(entry.get("bytes"), int) and isinstance(entry.get("sha256"), str)
            and not Path(name).is_absolute() and ".." not in Path(name).parts for name, entry in store.items()):
        return "the store's file list is not a mapping of its own files to their size and checksum"
    return None


def file_table(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file under a generation folder, by path relative to it."""
    table = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            table[path.relative_to(folder).as_posix()] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    return table


def changed_file(folder: Path, table: dict[str, dict[str, Any]], digests: bool = False) -> str | None:
    """The first file of ``table`` that is missing or of another size (or, with ``digests``, other
    content) under ``folder``, described; None when all match. Sizes cost a stat per file, so they are
    checked at every open; digests read everything, so ``rag verify`` checks them."""
    for name, expected in table.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != expected.get("bytes"):
            return f"{name} has {path.stat().st_size:,} bytes, not {expected.get('bytes'):,}"
        if digests and _sha256(path) != expected.get("sha256"):
            return f"{name} does not hold what was written"
    return None


def verify(index_dir: Path) -> tuple[int, int]:
    """Check every file of the current generation against the checksums its manifest recorded;
    the count of files and bytes checked, or an ``IndexCorruptError`` naming the first that differs."""
    manifest = read_manifest(index_dir)
    if not manifest.store:
        raise IndexCorruptError(f"The index at {index_dir} records no checksums (built by an older version); "
                                f"{REBUILD_HINT}.")
    changed = changed_file(index_dir / manifest.generation, manifest.store, digests=True)
    if changed:
        raise IndexCorruptError(f"The index at {index_dir} is damaged ({changed}); {REBUILD_HINT}.")
    return len(manifest.store), sum(int(entry["bytes"]) for entry in manifest.store.values())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (write, fsync, rename, fsync the folder)."""
    temporary = index_dir / f"{MANIFEST}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(asdict(manifest), handle, indent=1, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, index_dir / MANIFEST)
    sync_dir(index_dir)


def stamp(index_dir: Path) -> tuple[int, int]:
    """Identifies the manifest file: a swap by any writer changes its inode."""
    try:
        status = (index_dir / MANIFEST).stat()
    except OSError:
        return (0, 0)
    return (status.st_ino, status.st_mtime_ns)


@contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder, across processes."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "w")  # noqa: SIM115 (closed below, after the lock is released)
    except OSError as error:  # a file in the way, a read-only disk, no permission
        raise RagError(f"Cannot write the index at {index_dir} ({error.strerror or error}); pass --index with a "
                       "folder you can write to.") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale(index_dir: Path, keep: str | None) -> None:
    """Remove generations and temporary files that the manifest does not name (left by crashes)."""
    for path in index_dir.iterdir():
        stale = path.name.startswith("gen-") or path.name.startswith(f"{MANIFEST}.tmp")
        if stale and path.name != keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def sync_tree(folder: Path) -> None:
    """fsync every file and folder below ``folder``, so a rename after it publishes durable data."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    for path in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        sync_dir(path)


def sync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def short(error: BaseException) -> str:
    """The first line of an error message, or its type when it has none."""
    return str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
