"""Files to ``Document``s: walking a folder, decoding, parsing each format, titles and dates.

Each format is parsed by its own parser (``rag.formats``); this module picks the parser, decodes
text files and falls back to the first lines of plain text for a title and a dateline. A file that
cannot be used raises ``LoadError`` with a reason a person understands; the caller reports it and
goes on with the rest of the folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .config import SUPPORTED_SUFFIXES
from .dates import DATE_PATTERNS, dates_in, has_date
from .formats import BINARY_SUFFIXES, FormatError, parse, parse_bytes
from .types import Document

log = logging.getLogger(__name__)


class LoadError(Exception):
    """A file that is skipped, with the reason."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str  # path relative to the ingested folder, forward slashes: the document id


def iter_files(folder: Path) -> Iterator[SourceFile]:
    """Every file below ``folder``, sorted, hidden files and folders left out, symlink loops safe."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                path = Path(dirpath) / name
                yield SourceFile(path, path.relative_to(folder).as_posix())


def read_bytes(source: SourceFile, max_bytes: int) -> bytes:
    """The file's bytes, or a ``LoadError`` saying why they cannot be used."""
    path = source.path
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        if not path.is_file():
            raise LoadError("not a regular file (broken link or special file)")
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit (RAG_MAX_FILE_BYTES)")
        return path.read_bytes()
    except PermissionError:
        raise LoadError("permission denied") from None
    except OSError as error:
        raise LoadError(f"cannot be read ({error.strerror or error})") from None


def load_document(source: SourceFile, data: bytes) -> Document:
    """Decode and parse ``data`` (the bytes of ``source``) into a ``Document`` with title and date."""
    suffix = source.path.suffix.lower()
    try:
        if suffix in BINARY_SUFFIXES:
            parsed, encoding = parse_bytes(data, suffix), suffix.lstrip(".")
        else:
            text, encoding = decode_text(data)
            if not text.strip():
                raise LoadError("empty (no text)")
            parsed = parse(text, suffix)
    except FormatError as error:
        raise LoadError(str(error)) from None
    if not parsed.text.strip():
        raise LoadError("no text left once markup is removed" if parsed.raw.strip() else "empty (no text)")
    header = _header_lines(parsed.text)
    return Document(
        doc_id=source.rel,
        source=source.rel,
        title=parsed.title or find_title(header) or source.path.stem,
        date=parsed.date or find_dateline(header),
        text=parsed.raw,
        parsed=parsed,
        content_hash=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 first (a BOM is dropped), then whatever charset-normalizer detects; binary is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _checked(data.decode("utf-16"), "utf-16")
    try:
        return _checked(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise LoadError("not text: binary content or an unknown encoding")
    # Several code pages often fit equally well; among the best, Windows-1252 is by far the most common.
    least_chaos = min(match.chaos for match in matches)
    tied = [match for match in matches if match.chaos <= least_chaos + 0.01]
    best = next((match for match in tied if match.encoding == "cp1252"), tied[0])
    return _checked(str(best), best.encoding)


def _checked(text: str, encoding: str) -> tuple[str, str]:
    controls = sum(1 for char in text[:100_000] if ord(char) < 32 and char not in "\n\r\t\f")
    if controls > max(2, len(text[:100_000]) // 100):
        raise LoadError("not text: binary content")
    return text, encoding


def _header_lines(clean_text: str, count: int = 8) -> list[str]:
    lines = (line.strip() for line in clean_text[:5000].splitlines())
    return [line for line in lines if line][:count]


DATELINE_SLACK = 30  # characters a dateline may hold besides its date: "Politics 2024.1.30.", "Nov. 27, 2024 Wednesday"


def find_dateline(header: list[str]) -> str | None:
    """The date a document states for itself in a dateline: a short header line that is mostly a date.

    Several datelines (a print date above the publication date) give the earliest; a date inside a
    sentence ("born 12 March 1950, she ...") is not a dateline.
    """
    found = []
    for line in header:
        dated = sum(len(match.group(0)) for pattern in DATE_PATTERNS for match in pattern.finditer(line))
        if dated and len(line) - dated <= DATELINE_SLACK:
            found.extend(dates_in(line))
    return min(found).isoformat() if found else None


def find_title(header: list[str]) -> str | None:
    """The first header line that reads like a headline: several words, no date, not a body sentence."""
    for line in header:
        words = line.split()
        if len(words) < 4 or len(line) > 300 or has_date(line):
            continue
        if line.endswith(".") and len(line) > 120:
            continue  # a body sentence, not a headline
        return line
    return None
