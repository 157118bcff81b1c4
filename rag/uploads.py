"""Files people upload through the UI: checked, renamed safely and copied into ``<index>/uploads``.

They are then ingested beside the folder's documents (``rag.ingest``, which never removes them
on a folder ingest).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from .config import SUPPORTED_SUFFIXES
from .errors import InvalidQueryError

UPLOADS = "uploads/"  # documents added through the UI live in <index>/uploads; a folder ingest keeps them


def safe_name(name: str) -> str:
    """A file name with no directory part and no characters that could mean one."""
    cleaned = re.sub(r"[^\w.\- ]", "_", Path(name.replace("\\", "/")).name).strip(". ")
    return cleaned or "upload.txt"


def store_uploads(files: Sequence[str | Path], index_dir: Path, max_bytes: int) -> list[Path]:
    """Copy ``files`` into ``index_dir/uploads`` under safe names; returns where they now are.

    Only the base name of each file is kept, so a name like ``../../x.txt`` cannot write elsewhere;
    a name already taken by other content gets a number instead of replacing it.
    """
    uploads = index_dir / UPLOADS
    uploads.mkdir(parents=True, exist_ok=True)
    targets = []
    for file in files:
        source = Path(file)
        name = safe_name(source.name)
        if source.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise InvalidQueryError(f"{name}: unsupported file type; upload {', '.join(SUPPORTED_SUFFIXES)} files.")
        if source.stat().st_size > max_bytes:
            raise InvalidQueryError(f"{name} is over the {max_bytes / 1e6:.0f} MB upload limit.")
        target = _free_name(uploads / name, source)
        if not target.exists():
            shutil.copyfile(source, target)
        targets.append(target)
    return targets


def _free_name(target: Path, source: Path) -> Path:
    """``target``, or when another upload already has that name with other content, ``name (2).ext``,
    ``name (3).ext``...: nobody's document is replaced by someone else's of the same name. The same
    content under the same name is the same document, and keeps its place."""
    import filecmp

    number = 1
    candidate = target
    while candidate.exists() and not filecmp.cmp(source, candidate, shallow=False):
        number += 1
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
    return candidate
