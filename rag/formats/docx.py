"""Word documents by python-docx, the one importer: paragraphs and tables in body order.

The raw text is the text extracted here (paragraphs, and table rows as ``cell | cell`` lines), so
offsets point into it. Heading 1-6 and Title styles become sections. No date: a file's creation
time is not a date the document states.
"""

from __future__ import annotations

import io
import re
from typing import Any

from .base import FormatError, Parsed, TextBuilder

_HEADING = re.compile(r"heading\s*([1-6])$", re.IGNORECASE)


def _open(data: bytes) -> Any:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as error:
        raise ImportError("Word files need python-docx: pip install python-docx") from error
    import zipfile

    try:
        return docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, PackageNotFoundError) as error:
        raise FormatError(f"broken DOCX ({type(error).__name__}: {error})") from None


def _level(paragraph: Any) -> int | None:
    """0 for the Title style, 1-6 for Heading styles, None for body text."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title":
        return 0
    match = _HEADING.match(name.strip())
    return int(match.group(1)) if match else None


def _row_text(row: Any) -> str:
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) in seen:
            continue  # a merged cell is listed once per grid column it spans
        seen.add(id(cell._tc))
        cells.append(" ".join(cell.text.split()))
    return " | ".join(cells)


def _blocks(document: Any) -> list[tuple[str, int | None, int]]:
    """(text, heading level or None, newlines after) for each paragraph and table row, in body order."""
    blocks: list[tuple[str, int | None, int]] = []
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):
            rows = [_row_text(row) for row in item.rows]
            blocks.extend((row, None, 1) for row in rows if row.strip(" |"))
            if blocks:
                blocks[-1] = (blocks[-1][0], None, 2)
        elif item.text.strip():
            blocks.append((item.text.strip(), _level(item), 2))
    return blocks


def parse_docx(data: bytes) -> Parsed:
    """Visible text of a .docx file with its headings as sections."""
    document = _open(data)
    try:
        blocks = _blocks(document)
        core_title = document.core_properties.title
    except (KeyError, ValueError, AttributeError) as error:
        raise FormatError(f"broken DOCX ({type(error).__name__}: {error})") from None
    raw = "".join(text + "\n" * newlines for text, _, newlines in blocks)
    builder = TextBuilder(raw)
    position = 0
    title = first_h1 = None
    for text, level, newlines in blocks:
        if level is not None:
            builder.heading(level, text)
            title = text if level == 0 and title is None else title
            first_h1 = text if level == 1 and first_h1 is None else first_h1
        builder.add(text + "\n" * newlines, position)  # raw is this very text: map it one to one
        position += len(text) + newlines
    return builder.build(title=title or first_h1 or (core_title or "").strip() or None)
