"""rag.formats: visible text, exact raw offsets, sections, titles, dates, and hostile input."""

from __future__ import annotations

import html
import io
import time
from pathlib import Path

import pytest
from conftest import PYTHON_DOCS as DOCS
from conftest import make_docx, make_pdf

from rag.formats import FormatError, Parsed, looks_like_markdown, parse, parse_bytes

DOC_PAGES = ["json", "subprocess", "pathlib", "re", "datetime", "collections", "csv", "logging", "argparse", "functools",
             "itertools", "shutil", "sqlite3", "random", "time"]
BOILERPLATE = ("Previous topic", "Next topic", "Report a Bug", "Show Source", "Table of Contents", "This Page", "¶")


def assert_exact_offsets(parsed: Parsed) -> None:
    """Every visible character came from its raw span: itself, or an entity or escape standing for it."""
    raw, text = parsed.raw, parsed.text
    assert len(parsed.starts) == len(parsed.ends) == len(text)
    previous = 0
    for index, char in enumerate(text):
        start, end = parsed.starts[index], parsed.ends[index]
        assert previous <= start <= end <= len(raw), (index, char, start, end)
        previous = start
        if char.isspace() or char == "|":
            continue
        if end - start == 1:
            assert raw[start] == char, (index, char, raw[start])
        else:
            assert char in html.unescape(raw[start:end]), (index, char, raw[start:end])


def assert_sections_cover(parsed: Parsed) -> None:
    sections = parsed.sections
    assert sections[0].start == 0 and sections[-1].end == len(parsed.text)
    assert all(left.end == right.start for left, right in zip(sections, sections[1:]))
    assert all(section.start < section.end for section in sections)


def test_raw_span_covers_visible_text() -> None:
    parsed = parse("<p>a &amp; b</p><p>second</p>", ".html")
    assert parsed.text == "a & b\n\nsecond"
    assert parsed.raw_span(2, 3) == (5, 10)  # "&" came from the whole "&amp;"
    start, end = parsed.raw_span(0, len(parsed.text))
    assert parsed.raw[start:end] == "a &amp; b</p><p>second"


# --- HTML ---------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html><html><head><title>Widgets &amp; Gears — Example Site</title>
<meta name="date" content="2024-05-06T10:00:00Z"><style>p {color: red}</style><script>var x = "<p>";</script></head>
<body><header><nav><a href="/">Home</a> | <a href="/about">About</a></nav></header>
<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<div class="breadcrumbs">Home &gt; Widgets</div>
<main><article><h1>Widgets &amp; Gears<a class="headerlink" href="#w">¶</a></h1>
<p>Widgets   turn
gears &lt;fast&gt;.</p>
<h2>Sizes</h2><table><tr><th>Size</th><th>Teeth</th></tr><tr><td>small</td><td>12</td></tr></table>
<h3>Code</h3><pre>def f(x):
    return x  &amp; 1</pre>
<aside class="related">Related: other widgets</aside>
</article></main>
<aside>Sidebar ads</aside><footer>Copyright 2024 <a href="#">Privacy</a></footer></body></html>"""


def test_html_keeps_main_content_only() -> None:
    parsed = parse(PAGE, ".html")
    assert parsed.text == (
        "Widgets & Gears\n\nWidgets turn gears <fast>.\n\nSizes\n\nSize | Teeth\nsmall | 12\n\nCode\n\n"
        "def f(x):\n    return x  & 1"
    )
    assert parsed.title == "Widgets & Gears"
    assert parsed.date == "2024-05-06"
    assert [section.path for section in parsed.sections] == [
        ("Widgets & Gears",), ("Widgets & Gears", "Sizes"), ("Widgets & Gears", "Sizes", "Code")]
    assert_exact_offsets(parsed)
    assert_sections_cover(parsed)


def test_html_without_main_container_keeps_the_body_less_chrome() -> None:
    parsed = parse("<body><nav>Menu</nav><div id='sidebar'>Side</div><p>Text &#x41; &#66;</p><!-- hidden --></body>", ".htm")
    assert parsed.text == "Text A B"
    assert parsed.title is None and parsed.date is None
    assert_exact_offsets(parsed)


@pytest.mark.parametrize("name", DOC_PAGES)
def test_python_docs_pages(name: str) -> None:
    raw = (DOCS / f"{name}.html").read_text(encoding="utf-8")
    parsed = parse(raw, ".html")
    leaked = [phrase for phrase in BOILERPLATE if phrase in parsed.text]
    assert not leaked
    assert len(parsed.text) > 10_000
    assert parsed.title and parsed.title.startswith(name) and "documentation" not in parsed.title
    assert parsed.sections[0].path[0] == parsed.title
    assert_exact_offsets(parsed)
    assert_sections_cover(parsed)


def test_json_page_keeps_dunder_names_and_sections() -> None:
    parsed = parse((DOCS / "json.html").read_text(encoding="utf-8"), ".html")
    assert "Lib/json/__init__.py" in parsed.text
    paths = [section.path for section in parsed.sections]
    assert ("json — JSON encoder and decoder", "Exceptions") in paths
    exceptions = next(section for section in parsed.sections if section.path[-1] == "Exceptions")
    assert parsed.text[exceptions.start:].startswith("Exceptions\n")
    assert ">>> import json" in parsed.text  # pre blocks verbatim


@pytest.mark.parametrize("suffix", [".html", ".md"])
@pytest.mark.parametrize("opening", ["<script>", "<!--"])
def test_hostile_unclosed_markup_is_linear(suffix: str, opening: str) -> None:
    raw = "<p>before</p>\n\n" + opening + "var a = b < c && d; </a <p>x\n" * 35_000  # about 1 MB
    started = time.perf_counter()
    parsed = parse(raw, suffix)
    assert time.perf_counter() - started < 5
    assert "before" in parsed.text and "var a" not in parsed.text


def test_hostile_html_character_soup_is_linear() -> None:
    # 200 kB each: enough for a quadratic parser to take minutes, small enough to stay fast on a busy machine
    for raw in ("< " * 100_000, "&" * 200_000, "<!--<a " * 30_000, "<div>" * 40_000 + "</span>" * 1000):
        started = time.perf_counter()
        parse(raw, ".html")
        assert time.perf_counter() - started < 5


# --- Markdown and text ----------------------------------------------------------------------------

MARKDOWN = """---
title: "Notes on Python"
date: 2024-03-05
---
# Python *notes*

Plain __init__, **kwargs, snake_case and `__init__(self, **kwargs)`; real **bold** and _em_ and Lib/json/__init__.py.
See [the docs](https://docs.python.org) &amp; more \\* here.

## Install

```python
def main(**kwargs):
    return  __name__
```

### Windows

- first item
- second item

| key | value |
|-----|-------|
| ab  | b     |

    indented  code

<div class="note">Raw <b>HTML</b> block</div>

## Use
Last line.
"""


def test_markdown_text_sections_and_offsets() -> None:
    parsed = parse(MARKDOWN, ".md")
    text = parsed.text
    assert text.startswith("Python notes\n\nPlain __init__, **kwargs, snake_case and __init__(self, **kwargs); real bold and em")
    assert "Lib/json/__init__.py" in text
    assert "See the docs & more * here." in text
    assert "def main(**kwargs):\n    return  __name__" in text
    assert "first item\nsecond item" in text
    assert "key | value\nab | b" in text
    assert "indented  code" in text and "Raw HTML block" in text
    assert "https://" not in text and "```" not in text and "---" not in text
    assert [section.path for section in parsed.sections] == [
        ("Python notes",), ("Python notes", "Install"), ("Python notes", "Install", "Windows"), ("Python notes", "Use")]
    assert parsed.title == "Notes on Python"  # the front matter's own title
    assert parsed.date == "2024-03-05"
    assert_exact_offsets(parsed)
    assert_sections_cover(parsed)


def test_markdown_title_is_first_h1_and_no_date_without_front_matter() -> None:
    parsed = parse("Intro line 2024-01-02.\n\n## Minor\n\n# A\n\ntext\n", ".markdown")
    assert parsed.title == "A" and parsed.date is None
    assert parsed.sections[0].path == ()
    assert parse("just text\n", ".md").title is None


def test_txt_sniffs_markdown() -> None:
    assert looks_like_markdown("Intro\n\n**Kim** said") and looks_like_markdown("# Heading\ntext")
    assert not looks_like_markdown("A plain letter.\n#1 priority: none.\n")
    markdown = parse("\\_\\_\\_\n\n**Bold** name said.\n", ".txt")
    assert markdown.text == "___\n\nBold name said."
    plain = "A plain letter.\n\n  Indented *not emphasis?*\n"
    parsed = parse(plain, ".txt")
    assert parsed.text == parsed.raw == plain and parsed.title is None and parsed.sections[0].path == ()
    assert_exact_offsets(parsed)


def test_seed_files_parse_with_exact_offsets() -> None:
    for path in sorted(Path(__file__).resolve().parent.parent.joinpath("seeds").glob("*.txt")):
        parsed = parse(path.read_text(encoding="utf-8"), ".txt")
        assert "**" not in parsed.text and "<sup>" not in parsed.text
        assert_exact_offsets(parsed)


def test_unknown_suffix_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="unsupported file type .xyz"):
        parse("x", ".xyz")


# --- PDF --------------------------------------------------------------------------------------------

def test_pdf_pages_and_running_header_dropped() -> None:
    pages = [["ACME Quarterly Report", f"Body of page {number} talks about topic{number}.", f"Page {number} of 3"]
             for number in (1, 2, 3)]
    parsed = parse_bytes(make_pdf(pages), ".pdf")
    assert "ACME Quarterly Report" in parsed.raw and "ACME" not in parsed.text
    assert "Page 1 of 3" in parsed.raw and "of 3" not in parsed.text
    assert len(parsed.pages) == 3 and parsed.pages[0] == 0
    for number, start in enumerate(parsed.pages, 1):
        assert parsed.text[start:].startswith(f"Body of page {number} talks about topic{number}.")
    assert parsed.raw.count("\f") == 2
    assert_exact_offsets(parsed)


def test_pdf_errors_say_what_is_wrong() -> None:
    with pytest.raises(FormatError, match="scanned PDF: no text to index"):
        parse_bytes(make_pdf([[], []]), ".pdf")
    with pytest.raises(FormatError, match=r"broken PDF \("):
        parse_bytes(b"%PDF-1.4\nthis is not a pdf", ".pdf")
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(make_pdf([["secret"]]))))
    writer.encrypt(user_password="pw", owner_password="owner", algorithm="RC4-128")
    locked = io.BytesIO()
    writer.write(locked)
    with pytest.raises(FormatError, match=r"encrypted PDF \(needs a password\)"):
        parse_bytes(locked.getvalue(), ".pdf")


# --- Word -------------------------------------------------------------------------------------------

def test_docx_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "plan.docx", [
        ("heading", ("Annual Plan", 0)), ("paragraph", "Opening words."), ("heading", ("Budget", 1)),
        ("table", [("Item", "Cost"), ("Chairs", "40")]), ("paragraph", "After the table."),
        ("heading", ("Detail", 2)), ("paragraph", "Fine print.")])
    parsed = parse_bytes(path.read_bytes(), ".docx")
    assert parsed.text == ("Annual Plan\n\nOpening words.\n\nBudget\n\nItem | Cost\nChairs | 40\n\nAfter the table.\n\n"
                           "Detail\n\nFine print.")
    assert parsed.title == "Annual Plan" and parsed.date is None
    assert [section.path for section in parsed.sections] == [
        ("Annual Plan",), ("Annual Plan", "Budget"), ("Annual Plan", "Budget", "Detail")]
    assert_exact_offsets(parsed)
    assert_sections_cover(parsed)
    with pytest.raises(FormatError, match="broken DOCX"):
        parse_bytes(b"PK not a zip", ".docx")


def test_importing_formats_pulls_in_no_parser_library() -> None:
    import subprocess
    import sys

    code = "import sys, rag.formats; print(sorted({'markdown_it', 'pypdf', 'docx', 'lxml'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
