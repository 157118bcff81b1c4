"""HTML to visible main-content text with exact raw offsets, on the stdlib ``html.parser``.

The stdlib parser was chosen by measurement (see the commit): it reports the source position of
every event (``getpos``), which gives exact offsets without re-aligning text, and it needs no
dependency. Page furniture is dropped by generic rules (nav, header, footer, aside, scripts, forms,
landmark roles, class or id words such as ``sidebar``, ``toc``, ``cookie``); when the page has a main
container (``<main>``, ``role=main``, ``<article>``, ``itemprop=articleBody``, Sphinx's ``div.body``)
only its content is kept. What it simplifies: no implied-end-tag rules beyond popping to the
matching open element, and a construct left unclosed at the end of the file (``<!--``, ``<script>``,
``<a``) is dropped to the end, as an HTML5 parser does, instead of ``HTMLParser.close()``, which is
quadratic on such input.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

from .base import Parsed, TextBuilder

_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())  # noqa: SIM905
_SKIP_TAGS = frozenset((
    "script", "style", "noscript", "template", "nav", "footer", "form", "button", "select", "option", "textarea",
    "dialog", "svg", "iframe", "object", "canvas", "title",
))
_SKIP_ROLES = frozenset("navigation banner contentinfo complementary search dialog alertdialog menu menubar".split())  # noqa: SIM905
_SKIP_WORDS = re.compile(
    r"(?:^|[-_])(?:sidebar|sphinxsidebar|related|breadcrumbs?|toc|footer|nav|navbar|navigation|menu|cookies?"
    r"|consent|headerlink|skip-link|share|social)(?:$|[-_])",
    re.IGNORECASE,
)
_MAIN_TAGS = frozenset(("main", "article"))
_LINE_BLOCKS = frozenset(
    "div li dt dd tr br hr dl ul ol caption figcaption address details summary".split()  # noqa: SIM905
)
_PARAGRAPH_BLOCKS = frozenset(
    "p h1 h2 h3 h4 h5 h6 pre blockquote table section article main header figure".split()  # noqa: SIM905
)
_DATE_METAS = frozenset(("date", "dcterms.date", "dc.date", "article:published_time", "datepublished"))
_ISO_DATE = re.compile(r"\s*((?:19|20)\d\d-[01]\d-[0-3]\d)")


@dataclass
class _Element:
    tag: str
    skip: bool
    main: bool
    heading: int | None  # index of the heading's placeholder event


class _Collector(HTMLParser):
    """Turns parser events into (kind, ...) records with absolute raw offsets, filtered later."""

    def __init__(self, raw: str, base: int) -> None:
        super().__init__(convert_charrefs=False)
        self.raw, self.base = raw, base
        self.line_starts = [0] + [match.end() for match in re.finditer("\n", raw)]
        self.stack: list[_Element] = []
        self.open = Counter[str]()
        self.skip = self.main = self.pre = 0
        self.cells = 0  # cells seen in the current table row
        self.events: list[tuple] = []  # type: ignore[type-arg]
        self.heading_parts: list[str] | None = None
        self.levels: list[tuple[int, str]] = []  # the open heading path, as the builder will see it
        self.heading_level = 0  # level of the last h1-h6: a definition term (API signature) nests below it
        self.title: list[str] | None = None
        self.title_text: str | None = None
        self.first_h1: str | None = None
        self.date: str | None = None
        self.run: list[int] | None = None  # [start, end] of adjacent plain data not yet recorded

    def position(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def emit(self, *event: object) -> None:
        self.flush()
        self.events.append((*event, self.main > 0))

    def flush(self) -> None:
        """Record adjacent data pieces as one event: ``< < <`` or ``&&&`` arrive one character at a time."""
        if self.run is not None:
            start, end = self.run
            self.run = None
            self.emit("pre" if self.pre else "words", self.raw[start:end], start + self.base)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.flush()
        start = self.position()
        end = start + len(self.get_starttag_text() or "")
        values = {name: value or "" for name, value in attrs}
        if tag == "meta":
            key = (values.get("name") or values.get("property") or values.get("itemprop") or "").lower()
            match = _ISO_DATE.match(values.get("content", ""))
            if key in _DATE_METAS and match and self.date is None:
                self.date = match.group(1)
        if tag == "title" and self.title_text is None:
            self.title = []
        if tag in _VOID:
            if tag in ("br", "hr") and not self.skip:
                self.emit("break", start + self.base, end + self.base, 1)
            return
        words = f"{values.get('class', '')} {values.get('id', '')}".split()
        skip = (
            tag in _SKIP_TAGS
            or (tag in ("header", "aside") and not self.main)  # an article's own header or notes stay
            or values.get("role", "").lower() in _SKIP_ROLES
            or "hidden" in values
            or values.get("aria-hidden", "").lower() == "true"
            or any(_SKIP_WORDS.search(word) for word in words)
        )
        main = (
            tag in _MAIN_TAGS
            or values.get("role", "").lower() == "main"
            or values.get("itemprop", "").lower() == "articlebody"
            or (tag == "div" and "body" in values.get("class", "").split())
        )
        element = _Element(tag, skip, main, None)
        self.stack.append(element)
        self.open[tag] += 1
        self.skip += skip
        self.main += main
        if self.skip:
            return
        self.pre += tag == "pre"
        if tag in _LINE_BLOCKS or tag in _PARAGRAPH_BLOCKS:
            self.emit("break", start + self.base, end + self.base, 2 if tag in _PARAGRAPH_BLOCKS else 1)
        if tag == "tr":
            self.cells = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.emit("mapped", " | ", start + self.base, end + self.base)
            self.cells += 1
        elif self.heading_parts is None and (re.fullmatch(r"h[1-6]", tag) or (tag == "dt" and self.open["dl"])):
            # a definition term (a function's signature in API docs) starts a section below the heading
            level = int(tag[1]) if tag != "dt" else self.heading_level + self.open["dl"]
            element.heading = len(self.events)
            self.emit("heading", level, "", tag == "dt")
            self.heading_parts = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.title is not None:
            self.title_text, self.title = " ".join("".join(self.title).split()), None
        self.flush()
        if not self.open[tag]:
            return  # a stray end tag closes nothing
        start = self.position()
        end = self.raw.find(">", start) + 1 or start
        while self.stack:
            element = self.stack.pop()
            self.open[element.tag] -= 1
            if not self.skip:
                self.close_element(element, start + self.base, end + self.base)
            self.skip -= element.skip
            self.main -= element.main
            if element.tag == tag:
                break

    def close_element(self, element: _Element, start: int, end: int) -> None:
        self.pre -= element.tag == "pre"
        if element.heading is not None and self.heading_parts is not None:
            title = " ".join("".join(self.heading_parts).split())
            kind, level, _, soft, in_main = self.events[element.heading]
            self.events[element.heading] = (kind, level, title, soft, in_main)
            if level == 1 and self.first_h1 is None and title and element.tag == "h1":
                self.first_h1 = title
            if element.tag != "dt":
                self.heading_level = level
            if title:
                while self.levels and self.levels[-1][0] >= level:
                    self.levels.pop()
                self.levels.append((level, title))
            self.heading_parts = None
        if element.tag == "dl":  # after a definition list, text belongs to the section around it again
            depth = self.heading_level + self.open["dl"]
            if self.levels and self.levels[-1][0] > depth:
                while self.levels and self.levels[-1][0] > depth:
                    self.levels.pop()
                if self.levels:
                    self.emit("heading", *self.levels[-1], self.levels[-1][0] > self.heading_level)
        if element.tag in _LINE_BLOCKS or element.tag in _PARAGRAPH_BLOCKS:
            self.emit("break", start, end, 2 if element.tag in _PARAGRAPH_BLOCKS else 1)

    def text(self, text: str, start: int, end: int, contiguous: bool) -> None:
        if self.title is not None:
            self.title.append(text)
        if self.skip:
            return
        if self.heading_parts is not None:
            self.heading_parts.append(text)
        if contiguous and self.run is not None and self.run[1] == start:
            self.run[1] = end
        elif contiguous:
            self.flush()
            self.run = [start, end]
        else:
            self.emit("mapped", text, start + self.base, end + self.base)

    def handle_data(self, data: str) -> None:
        start = self.position()
        self.text(data, start, start + len(data), True)

    def handle_entityref(self, name: str) -> None:
        self.reference(1 + len(name))

    def handle_charref(self, name: str) -> None:
        self.reference(2 + len(name))

    def reference(self, length: int) -> None:
        start = self.position()
        end = start + length + (self.raw[start + length : start + length + 1] == ";")
        source = self.raw[start:end]
        decoded = html.unescape(source)
        self.text(decoded, start, end, decoded == source)

    def finish(self) -> None:
        """Parse what ``feed`` left: an unclosed ``<`` construct runs to the end and is dropped."""
        tail = self.rawdata
        if tail and not tail.startswith("<") and not self.cdata_elem:
            start = len(self.raw) - len(tail)
            decoded = html.unescape(tail)
            self.text(decoded, start, len(self.raw), decoded == tail)
        self.flush()
        self.rawdata = ""


def collect(raw: str, base: int = 0) -> _Collector:
    """Run the parser over ``raw`` (whose offset 0 is ``base`` in the file) and return its records."""
    collector = _Collector(raw, base)
    collector.feed(raw)
    collector.finish()
    return collector


def replay(collector: _Collector, builder: TextBuilder, main_only: bool) -> None:
    """Append the collected text to ``builder``; with ``main_only``, only a main container's if any."""
    keep_all = not (main_only and any(event[-1] for event in collector.events))
    for kind, *values, in_main in collector.events:
        if not (keep_all or in_main):
            continue
        if kind == "words":
            builder.add_words(values[0], values[1])
        elif kind == "pre":
            builder.add(values[0], values[1])
        elif kind == "mapped":
            builder.add_mapped(values[0], values[1], values[2])
        elif kind == "break":
            builder.newline(values[0], values[1], values[2])
        elif kind == "heading" and values[1]:
            builder.heading(values[0], values[1], soft=values[2])


def parse_html(raw: str) -> Parsed:
    """Main-content text of an HTML page, its headings as sections, title and stated date."""
    collector = collect(raw)
    builder = TextBuilder(raw)
    replay(collector, builder, main_only=True)
    title, h1 = collector.title_text or None, collector.first_h1
    # A site suffix ("json — ... — Python 3.11 documentation") is dropped when the page's h1 begins the title.
    if h1 and (not title or title.casefold().startswith(h1.casefold())):
        title = h1
    return builder.build(title=title, date=collector.date)
