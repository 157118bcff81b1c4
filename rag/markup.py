"""Markup removal for display: the chat shows windows of raw files with their markup taken out.

Documents are parsed by their own parsers (``rag.formats``); this is only for showing a few
hundred characters around a passage. Markdown and HTML noise (``**bold**``, ``\\_``,
``<sup>th</sup>``, ``&amp;``) is removed while each character of the clean text keeps the span of
the raw text it stands for, so highlighted evidence lands on the right words.
"""

from __future__ import annotations

import html
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass

# A segment of clean text: (text, raw offset, contiguous). Contiguous text maps char by char
# from the raw offset on; a non-contiguous one (a decoded entity) maps every char to the whole match.
Segment = tuple[str, int, bool]
Rule = tuple[str, Callable[[re.Match[str]], list[Segment]]]

_BLOCK_TAGS = r"(?:p|div|br|hr|h[1-6]|li|ul|ol|tr|table|section|article|header|footer|blockquote|pre|title)"


def _drop(match: re.Match[str]) -> list[Segment]:
    return []


def _newline(match: re.Match[str]) -> list[Segment]:
    return [("\n", match.start(), False)]


def _keep(group: str) -> Callable[[re.Match[str]], list[Segment]]:
    def keep(match: re.Match[str]) -> list[Segment]:
        return [(match.group(group), match.start(group), True)]

    return keep


def _entity(match: re.Match[str]) -> list[Segment]:
    decoded = html.unescape(match.group(0))
    return [(decoded, match.start(), False)]


_COMMON_RULES: list[Rule] = [
    (r"<!--.*?-->", _drop),
    (r"<(?:script|style)\b[^>]*>.*?</(?:script|style)\s*>", _drop),
    (rf"</?{_BLOCK_TAGS}\b[^>]*>", _newline),
    (r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>", _drop),
    (r"&(?:[A-Za-z]{2,8}|#\d{1,6}|#x[0-9A-Fa-f]{1,6});", _entity),
    (r"(?:\\_){3,}", _drop),  # escaped horizontal rules: \_\_\_\_
    (r"\\(?P<escaped>[\\`*_{}\[\]()#+\-.!<>|~])", _keep("escaped")),
    (r"!?\[(?P<link>[^\]\n]{1,300})\]\([^)\s]{0,500}\)", _keep("link")),
    (r"(?<![\w.])__(?P<bold>[^_\n]{1,300}?)__(?!\w)", _keep("bold")),  # only paired: window.__xss stays
    (r"\*\*|~~|`{1,3}", _drop),
    (r"^#{1,6}[ \t]+", _drop),
]


def _compile(rules: list[Rule]) -> tuple[re.Pattern[str], list[Callable[[re.Match[str]], list[Segment]]]]:
    pattern = "|".join(f"(?P<r{number}>{rule})" for number, (rule, _) in enumerate(rules))
    return re.compile(pattern, re.DOTALL | re.IGNORECASE | re.MULTILINE), [handler for _, handler in rules]


_PATTERN, _HANDLERS = _compile(_COMMON_RULES)


@dataclass(frozen=True)
class CleanText:
    """Clean text plus, for every clean character i, the raw span ``[starts[i], ends[i])``."""

    text: str
    starts: array  # type: ignore[type-arg]
    ends: array  # type: ignore[type-arg]

    def raw_span(self, clean_start: int, clean_end: int) -> tuple[int, int]:
        """Map a clean span to the raw span that covers it."""
        return self.starts[clean_start], self.ends[clean_end - 1]


def clean_markup(raw: str) -> CleanText:
    """Remove markup from ``raw``, keeping an exact map back to raw offsets."""
    pieces: list[str] = []
    starts: array = array("q")  # type: ignore[type-arg]
    ends: array = array("q")  # type: ignore[type-arg]

    def emit(text: str, offset: int, contiguous: bool, match_end: int) -> None:
        pieces.append(text)
        if contiguous:
            starts.extend(range(offset, offset + len(text)))
            ends.extend(range(offset + 1, offset + len(text) + 1))
        else:
            starts.extend([offset] * len(text))
            ends.extend([match_end] * len(text))

    position = 0
    for match in _PATTERN.finditer(raw):
        if match.start() > position:
            emit(raw[position : match.start()], position, True, 0)
        handler = _HANDLERS[int(match.lastgroup[1:]) if match.lastgroup else 0]
        for text, offset, contiguous in handler(match):
            emit(text, offset, contiguous, match.end())
        position = match.end()
    if position < len(raw):
        emit(raw[position:], position, True, 0)
    return CleanText("".join(pieces), starts, ends)
