"""Document formats to visible text with exact raw offsets, sections, title and stated date.

``parse(raw, suffix)`` for text formats and ``parse_bytes(data, suffix)`` for PDF and Word files
return one shape, ``Parsed``; every character of ``Parsed.text`` knows the raw span it came from.
Each parser imports its third-party library on first use, so importing this package is cheap.
"""

from __future__ import annotations

from .base import FormatError, Parsed, Section, TextBuilder
from .text import looks_like_markdown

TEXT_SUFFIXES = (".htm", ".html", ".markdown", ".md", ".txt")
BINARY_SUFFIXES = (".docx", ".pdf")
SUFFIXES = TEXT_SUFFIXES + BINARY_SUFFIXES


def parse(raw: str, suffix: str) -> Parsed:
    """Parse decoded text by file suffix; a ``.txt`` written in Markdown is parsed as Markdown."""
    suffix = suffix.lower()
    if suffix in (".html", ".htm"):
        from .html import parse_html

        return parse_html(raw)
    if suffix in (".md", ".markdown") or (suffix == ".txt" and looks_like_markdown(raw)):
        from .markdown import parse_markdown

        return parse_markdown(raw)
    if suffix == ".txt":
        from .text import parse_text

        return parse_text(raw)
    if suffix in BINARY_SUFFIXES:
        raise FormatError(f"{suffix} files are binary: use parse_bytes")
    raise FormatError(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUFFIXES)}")


def parse_bytes(data: bytes, suffix: str) -> Parsed:
    """Parse a file's bytes: PDF and Word by their libraries, text formats decoded as UTF-8.

    For PDF and Word, ``Parsed.raw`` is the extracted text and offsets point into it.
    """
    suffix = suffix.lower()
    if suffix == ".pdf":
        from .pdf import parse_pdf

        return parse_pdf(data)
    if suffix == ".docx":
        from .docx import parse_docx

        return parse_docx(data)
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError("not UTF-8 text: decode it first and call parse()") from None
    return parse(raw, suffix)


__all__ = [
    "BINARY_SUFFIXES",
    "SUFFIXES",
    "TEXT_SUFFIXES",
    "FormatError",
    "Parsed",
    "Section",
    "TextBuilder",
    "looks_like_markdown",
    "parse",
    "parse_bytes",
]
