"""Plain text as written, and the guess whether a ``.txt`` file is really Markdown.

Plain text needs no parsing: the visible text is the raw text, character for character, with no
sections and no title (the loader falls back to the file name).
"""

from __future__ import annotations

import re
from array import array

from .base import Parsed, Section

_MARKDOWN_SIGNS = re.compile(
    r"^#{1,6}[ \t]+\S"  # an ATX heading
    r"|\*\*[^*\n]+\*\*"  # **bold**
    r"|\[[^\]\n]+\]\([^)\s]+\)"  # [a link](target)
    r"|^(?:```|~~~)"  # a code fence
    r"|^(?:\\_){3,}[ \t]*$",  # an escaped rule, \_\_\_, as Markdown exporters write it
    re.MULTILINE,
)


def looks_like_markdown(raw: str) -> bool:
    """True when the start of ``raw`` uses Markdown markup (headings, bold, links, fences)."""
    return _MARKDOWN_SIGNS.search(raw[:100_000]) is not None


def parse_text(raw: str) -> Parsed:
    """``raw`` itself, mapped to itself."""
    length = len(raw)
    sections = (Section(0, length, ()),) if raw else ()
    return Parsed(raw, raw, array("q", range(length)), array("q", range(1, length + 1)), None, None, sections)
