"""Markdown to visible text with exact raw offsets: CommonMark by markdown-it-py, the one importer.

markdown-it gives block tokens with source line ranges but inline tokens without positions, so each
inline piece is found in its block's lines in order (``str.find`` from a moving cursor; a greedy
character alignment where the parser changed the text, as in a code span across lines). Escapes and
entities are kept as separate tokens (``text_join`` disabled) so they map to their whole source.
What it simplifies: a dunder such as ``__init__`` is kept literally even where CommonMark reads it as
strong emphasis; raw HTML blocks go through the HTML parser; YAML front matter is read for ``title``
and ``date`` only.
"""

from __future__ import annotations

import re
from typing import Any

from .base import Parsed, TextBuilder

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FRONT_DATE = re.compile(r"^date:\s*[\"']?(\d{4})-(\d{1,2})-(\d{1,2})\b", re.MULTILINE | re.IGNORECASE)
_FRONT_TITLE = re.compile(r"^title:[ \t]*[\"']?(.+?)[\"']?[ \t]*$", re.MULTILINE | re.IGNORECASE)
_DUNDER = re.compile(r"[a-z][a-z0-9_]*")
_TITLE_PARTS = ("text", "code_inline", "text_special")
_SKIPPED_HTML = re.compile(r"<(script|style|textarea)\b", re.IGNORECASE)


def _parser() -> Any:
    try:
        from markdown_it import MarkdownIt
    except ImportError as error:  # pragma: no cover - a core dependency
        raise ImportError("Markdown files need markdown-it-py: pip install markdown-it-py") from error
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("text_join")


def _front_matter(raw: str) -> tuple[int, str | None, str | None]:
    """Where the body starts, and the front matter's title and ISO date if it states them."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return 0, None, None
    block = match.group(1) or ""
    title = _FRONT_TITLE.search(block)
    date = _FRONT_DATE.search(block)
    iso = None
    if date:
        from datetime import date as calendar_date

        try:
            iso = calendar_date(int(date.group(1)), int(date.group(2)), int(date.group(3))).isoformat()
        except ValueError:
            iso = None
    return match.end(), title.group(1).strip() if title else None, iso


class _Walker:
    """Replays markdown-it tokens into a ``TextBuilder`` while tracking where each piece is in ``raw``."""

    def __init__(self, raw: str, body_start: int) -> None:
        self.raw = raw
        self.builder = TextBuilder(raw)
        self.line_starts = [body_start] + [match.end() for match in re.compile("\n").finditer(raw, body_start)]
        self.cursor = body_start
        self.limit = len(raw)
        self.first_h1: str | None = None

    def line(self, number: int) -> int:
        return self.line_starts[number] if number < len(self.line_starts) else len(self.raw)

    def block(self, token: Any) -> None:
        if token.map:  # the cursor never moves back: table cells share their row's lines
            self.cursor, self.limit = max(self.cursor, self.line(token.map[0])), self.line(token.map[1])

    def newline(self, count: int) -> None:
        position = self.raw.find("\n", self.cursor, self.limit)
        if position < 0:
            self.builder.newline(self.cursor, self.cursor, count)
        else:
            self.builder.newline(position, position + 1, count)

    def place(self, text: str) -> None:
        """Append ``text`` at its next occurrence in the block, or aligned character by character."""
        if not text:
            return
        found = self.raw.find(text, self.cursor, self.limit)
        if found >= 0:
            self.builder.add(text, found)
            self.cursor = found + len(text)
            return
        positions, position = [], self.cursor
        for char in text:
            while position < self.limit and self.raw[position] != char and not (char == " " and self.raw[position] in "\r\n"):
                position += 1
            if position >= self.limit:
                self.builder.add_mapped(text, self.cursor, self.limit)  # should not happen: keep the text, map it loosely
                return
            positions.append(position)
            position += 1
        self.builder.add_at(text, positions)
        self.cursor = position

    def inline(self, children: list[Any]) -> None:
        skipping = None  # an inline <script> or <style> whose text is not content
        index = 0
        while index < len(children):
            child = children[index]
            kind = child.type
            if skipping:
                if kind == "html_inline" and child.content.lower().startswith(f"</{skipping}"):
                    skipping = None
            elif kind == "text" or kind == "code_inline":
                self.place(child.content)
            elif kind == "text_special":
                found = self.raw.find(child.markup, self.cursor, self.limit)
                if found >= 0:
                    self.builder.add_mapped(child.content, found, found + len(child.markup))
                    self.cursor = found + len(child.markup)
                else:
                    self.place(child.content)
            elif kind in ("softbreak", "hardbreak"):
                self.place("\n")
            elif kind == "strong_open" and child.markup == "__" and self._dunder(children, index):
                self.place(f"__{children[index + 1].content}__")
                index += 2
            elif kind == "html_inline":
                tag = _SKIPPED_HTML.match(child.content)
                skipping = tag.group(1).lower() if tag else None
                if re.match(r"<br\b", child.content, re.IGNORECASE):
                    self.builder.newline(self.cursor, self.cursor)
            index += 1

    @staticmethod
    def _dunder(children: list[Any], index: int) -> bool:
        """``__init__`` in prose is a Python name far more often than bold text."""
        return (
            index + 2 < len(children)
            and children[index + 1].type == "text"
            and bool(_DUNDER.fullmatch(children[index + 1].content))
            and children[index + 2].type == "strong_close"
        )

    def walk(self, tokens: list[Any]) -> None:
        cells = 0
        for number, token in enumerate(tokens):
            kind = token.type
            self.block(token)
            if kind == "heading_open":
                self.newline(2)
                inline = tokens[number + 1]
                parts = [child.content for child in inline.children or [] if child.type in _TITLE_PARTS]
                title = "".join(parts)
                level = int(token.tag[1])
                self.builder.heading(level, title)
                if level == 1 and self.first_h1 is None and title.strip():
                    self.first_h1 = " ".join(title.split())
            elif kind == "inline":
                self.inline(token.children or [])
            elif kind in ("fence", "code_block"):
                self.newline(2)
                if kind == "fence" and token.map:
                    self.cursor = self.line(token.map[0] + 1)
                self.place(token.content)
                self.newline(2)
            elif kind == "html_block":
                from .html import collect, replay

                start, end = self.cursor, self.limit
                replay(collect(self.raw[start:end], base=start), self.builder, main_only=False)
                self.cursor = end
                self.newline(2)
            elif kind in ("heading_close", "paragraph_close", "hr", "table_close", "blockquote_close"):
                self.newline(1 if token.hidden else 2)
            elif kind in ("list_item_close", "tr_close"):
                self.newline(1)
            elif kind == "tr_open":
                cells = 0
            elif kind in ("th_open", "td_open"):
                if cells:
                    bar = self.raw.find("|", self.cursor, self.limit)
                    self.builder.add_mapped(" | ", *((bar, bar + 1) if bar >= 0 else (self.cursor, self.cursor)))
                cells += 1


def parse_markdown(raw: str) -> Parsed:
    """Visible text of a Markdown file, headings as sections; title from front matter or the first ``#``."""
    body_start, front_title, date = _front_matter(raw)
    walker = _Walker(raw, body_start)
    walker.walk(_parser().parse(raw[body_start:]))
    return walker.builder.build(title=front_title or walker.first_h1, date=date)
