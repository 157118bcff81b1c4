"""Files to ``Document``s: walking a folder, decoding, PDF text, titles and dates.

A file that cannot be used raises ``LoadError`` with a reason a person understands; the
caller reports it and goes on with the rest of the folder.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .config import SUPPORTED_SUFFIXES
from .dates import dates_in, has_date
from .markup import clean_markup
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
    """Decode ``data`` (the bytes of ``source``) into a ``Document`` with title and date."""
    suffix = source.path.suffix.lower()
    if suffix == ".pdf":
        text, encoding = _pdf_text(data), "pdf"
    else:
        text, encoding = decode_text(data)
    if not text.strip():
        raise LoadError("empty (no text)")
    clean = clean_markup(text)
    if not clean.text.strip():
        raise LoadError("no text left once markup is removed")
    header = _header_lines(clean.text)
    title = _html_title(text) if suffix in (".html", ".htm") else None
    return Document(
        doc_id=source.rel,
        source=source.rel,
        title=title or find_title(header) or source.path.stem,
        date=find_date(header),
        text=text,
        clean=clean,
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


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF (needs a password)")
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, NotImplementedError) as error:
        raise LoadError(f"broken PDF ({type(error).__name__}: {error})") from None


_TITLE_TAG = re.compile(r"<(title|h1)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


def _html_title(text: str) -> str | None:
    match = _TITLE_TAG.search(text)
    return clean_markup(match.group(2)).text.strip() or None if match else None


def _header_lines(clean_text: str, count: int = 8) -> list[str]:
    lines = (line.strip() for line in clean_text[:5000].splitlines())
    return [line for line in lines if line][:count]


def find_date(header: list[str]) -> str | None:
    """The earliest date in the header lines, as ISO: a publication date precedes print or crawl dates."""
    found = [day for line in header for day in dates_in(line)]
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
