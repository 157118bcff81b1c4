"""PDF text by pypdf, the one importer: pages, their offsets, running headers and footers dropped.

The raw text is what pypdf extracts, pages joined by form feeds; the visible text leaves out a line
that repeats at the top or bottom of most pages (digits ignored, so "Page 3" matches "Page 4"),
because a running header in every chunk drowns the page's own words.
"""

from __future__ import annotations

import io
import re
from collections import Counter

from .base import FormatError, Parsed, TextBuilder

PAGE_BREAK = "\f"
_EDGE_LINES = 2  # how many lines at the top and at the bottom of a page may be running furniture


def _extract_pages(data: bytes) -> tuple[list[str], str | None]:
    """Text of every page, and the title the file's metadata gives, or a ``FormatError``."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as error:  # pragma: no cover - a core dependency
        raise ImportError("PDF files need pypdf: pip install pypdf") from error
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                unlocked = bool(reader.decrypt(""))
            except Exception:  # noqa: BLE001 - a cipher pypdf cannot open is as good as locked
                unlocked = False
            if not unlocked:
                raise FormatError("encrypted PDF (needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata_title = reader.metadata.title if reader.metadata else None
    except FormatError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, NotImplementedError, IndexError) as error:
        raise FormatError(f"broken PDF ({type(error).__name__}: {error})") from None
    if not pages:
        raise FormatError("broken PDF (no pages)")
    if not any(page.strip() for page in pages):
        raise FormatError("scanned PDF: no text to index")
    title = " ".join(str(metadata_title).split()) if metadata_title else None
    return pages, title or None


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _edges(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The lines that may be running furniture: at most two at each end, and always some body left."""
    filled = [(number, line) for number, line in lines if line.strip()]
    count = min(_EDGE_LINES, (len(filled) - 1) // 2)
    return filled[:count] + filled[len(filled) - count :] if count > 0 else []


def running_lines(pages: list[list[tuple[int, str]]]) -> set[str]:
    """Normalised lines found at a page edge on most pages (at least 3 of them)."""
    counts = Counter(key for page in pages for key in {_key(line) for _, line in _edges(page)})
    needed = max(3, len(pages) // 2 + 1)
    return {key for key, count in counts.items() if count >= needed and key}


def parse_pdf(data: bytes) -> Parsed:
    """The text layer of a PDF, page by page; ``pages`` holds where each page starts in ``text``."""
    page_texts, title = _extract_pages(data)
    raw = PAGE_BREAK.join(page_texts)
    pages: list[list[tuple[int, str]]] = []
    offset = 0
    for page_text in page_texts:
        lines, position = [], offset
        for line in page_text.splitlines(keepends=True):
            lines.append((position, line))
            position += len(line)
        pages.append(lines)
        offset += len(page_text) + len(PAGE_BREAK)
    furniture = running_lines(pages)
    builder = TextBuilder(raw)
    starts: list[int] = []
    for lines in pages:
        page_start = lines[0][0] if lines else len(raw)
        builder.newline(max(page_start - 1, 0), page_start, 2)
        starts.append(len(builder))
        edges = {position for position, line in _edges(lines) if _key(line) in furniture}
        for position, line in lines:
            content = line.rstrip("\r\n")
            if position in edges:
                continue
            if content.strip():
                builder.add(content, position)
                builder.newline(position + len(content), position + len(line), 1)
            else:
                builder.newline(position, position + len(line), 2)
    return builder.build(title=title, pages=tuple(starts))
