"""What every format parser returns, and the one builder they all fill.

A parser walks its source and appends visible pieces to a ``TextBuilder`` together with the raw
offsets they came from; the builder keeps, for every character of the visible text, the raw span
``raw[starts[i]:ends[i]]`` it stands for (``rag.types.Parsed``), and turns
headings into contiguous sections, so chunks cut from ``Parsed.text`` cite exact raw offsets.
"""

from __future__ import annotations

from array import array

from ..types import Parsed, Section


class FormatError(Exception):
    """A file whose format cannot be read, with a reason a person can act on."""


class TextBuilder:
    """Appends visible pieces with their raw offsets and records headings as sections.

    Whitespace is normalised here so that every format agrees: ``add_words`` collapses runs of
    whitespace to one space (kept only between words), ``newline`` ends a line or a block without
    ever stacking more than ``count`` newlines, and the text never starts or ends with whitespace.
    """

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._pieces: list[str] = []
        self._starts: array = array("q")  # type: ignore[type-arg]
        self._ends: array = array("q")  # type: ignore[type-arg]
        self._length = 0
        self._trailing_newlines = 0
        self._pending_space: tuple[int, int] | None = None  # raw span of a space not yet emitted
        self._headings: list[tuple[int, tuple[str, ...], bool]] = []
        self._levels: list[tuple[int, str]] = []  # open heading (level, title) stack

    def __len__(self) -> int:
        return self._length

    def _append(self, text: str, starts: range | list[int], ends: range | list[int]) -> None:
        self._pieces.append(text)
        self._starts.extend(starts)
        self._ends.extend(ends)
        self._length += len(text)
        stripped = text.rstrip("\n")
        self._trailing_newlines = (self._trailing_newlines if not stripped else 0) + len(text) - len(stripped)

    def _flush_space(self) -> None:
        if self._pending_space is not None and self._length and not self._trailing_newlines:
            start, end = self._pending_space
            self._append(" ", [start], [end])
        self._pending_space = None

    def add(self, text: str, raw_start: int) -> None:
        """Append ``text`` verbatim; it is ``raw[raw_start:raw_start + len(text)]``."""
        if text:
            self._flush_space()
            self._append(text, range(raw_start, raw_start + len(text)), range(raw_start + 1, raw_start + len(text) + 1))

    def add_mapped(self, text: str, raw_start: int, raw_end: int) -> None:
        """Append ``text`` that stands for all of ``raw[raw_start:raw_end]`` (an entity, an escape)."""
        if text:
            self._flush_space()
            self._append(text, [raw_start] * len(text), [raw_end] * len(text))

    def add_at(self, text: str, positions: list[int]) -> None:
        """Append ``text`` whose i-th character is ``raw[positions[i]]`` (text aligned around removed markup)."""
        if text:
            self._flush_space()
            self._append(text, positions, [position + 1 for position in positions])

    def add_words(self, text: str, raw_start: int) -> None:
        """Append contiguous ``text`` with whitespace runs collapsed to single spaces between words."""
        import re

        position = 0
        for match in re.finditer(r"\s+", text):
            self.add(text[position : match.start()], raw_start + position)
            if self._pending_space is None:
                self._pending_space = (raw_start + match.start(), raw_start + match.end())
            position = match.end()
        self.add(text[position:], raw_start + position)

    def newline(self, raw_start: int, raw_end: int | None = None, count: int = 1) -> None:
        """End the current line (``count=2``: end a block), mapped to ``raw[raw_start:raw_end]``."""
        self._pending_space = None
        if not self._length:
            return
        raw_end = raw_start if raw_end is None else raw_end
        missing = count - self._trailing_newlines
        if missing > 0:
            self._append("\n" * missing, [raw_start] * missing, [raw_end] * missing)

    def heading(self, level: int, title: str, soft: bool = False) -> None:
        """Start a section under heading ``title`` of ``level`` (1 is outermost) at the current offset;
        ``soft`` for a definition term (an API signature), whose small sections may share a chunk."""
        while self._levels and self._levels[-1][0] >= level:
            self._levels.pop()
        self._levels.append((level, " ".join(title.split())))
        path = tuple(name for _, name in self._levels)
        start = self._length
        if self._headings and self._headings[-1][0] == start:
            self._headings[-1] = (start, path, soft)  # an empty section is replaced, never kept
        else:
            self._headings.append((start, path, soft))

    def build(self, title: str | None = None, date: str | None = None, pages: tuple[int, ...] = ()) -> Parsed:
        """The finished ``Parsed``: trailing whitespace dropped, sections contiguous over the text."""
        text = "".join(self._pieces)
        length = len(text.rstrip())
        text = text[:length]
        del self._starts[length:]
        del self._ends[length:]
        bounds: list[tuple[int, tuple[str, ...], bool]] = [(0, (), False)]
        bounds += [heading for heading in self._headings if heading[0] < length]
        if len(bounds) > 1 and bounds[1][0] == 0:
            bounds.pop(0)
        sections = tuple(
            Section(start, bounds[number + 1][0] if number + 1 < len(bounds) else length, path, soft)
            for number, (start, path, soft) in enumerate(bounds)
        )
        return Parsed(self.raw, text, self._starts, self._ends, title, date, sections if length else (),
                      tuple(min(page, length) for page in pages))
