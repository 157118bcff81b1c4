"""Documents as people have them, through the whole pipeline: real HTML docs, Markdown, PDF pages,
Word sections; every passage cites an exact span of its file and carries its section and page."""

from __future__ import annotations

import html
import shutil
import time
from pathlib import Path

import pytest
from conftest import PYDOCS_PAGES, PYTHON_DOCS, FakeEmbedder, make_docx, make_pdf

import rag
from rag.spans import char_spans, raw_span

FURNITURE = ("Previous topic", "Next topic", "Report a Bug", "Show Source", "Table of Contents", "This Page",
             "Navigation", "©")


@pytest.fixture(scope="module")
def pydocs_index(tmp_path_factory: pytest.TempPathFactory) -> rag.Index:
    folder = tmp_path_factory.mktemp("pydocs")
    for name in PYDOCS_PAGES:
        shutil.copy(PYTHON_DOCS / name, folder / name)
    return rag.build_index(folder, folder.parent / "pydocs-index", settings=rag.Settings(model="fake"),
                           embedder=FakeEmbedder())


def all_passages(index: rag.Index) -> list[rag.Passage]:
    store = index.store
    return list(store.passages(store.chunk_ids_of([document.doc_id for document in index.documents()])).values())


def test_every_chunk_of_the_python_docs_is_an_exact_span_with_its_visible_text(pydocs_index: rag.Index) -> None:
    passages = all_passages(pydocs_index)
    assert len(pydocs_index.documents()) == 15 and len(passages) > 300
    for passage in passages:
        raw = pydocs_index.document_text(passage.doc_id)
        assert raw is not None and raw[passage.start : passage.end] == passage.text
        # every visible character stands for itself (or its entity) in the file, inside the chunk's span
        offsets = pydocs_index.store._rows("SELECT offsets FROM chunks WHERE chunk_id = ?", [passage.chunk_id])[0][0]
        spans = char_spans(offsets)
        assert len(spans) == len(passage.clean_text)
        previous = 0
        for position, (char, (start, end)) in enumerate(zip(passage.clean_text, spans)):
            assert previous <= start <= end <= len(passage.text)
            previous = start
            if not char.isspace() and char != "|":
                assert html.unescape(passage.text[start:end]) == char, (passage.doc_id, position, char)
        assert passage.section.startswith(passage.title), (passage.section, passage.title)
        assert not [phrase for phrase in FURNITURE if phrase in passage.clean_text], passage.clean_text[:200]


def test_sentences_inside_a_chunk_map_to_the_words_of_the_file(pydocs_index: rag.Index) -> None:
    passage = next(p for p in all_passages(pydocs_index) if "JSONDecodeError" in p.clean_text and p.doc_id == "json.html")
    index = pydocs_index
    offsets = index.store._rows("SELECT offsets FROM chunks WHERE chunk_id = ?", [passage.chunk_id])[0][0]
    start = passage.clean_text.index("JSONDecodeError")
    first, last = raw_span(offsets, start, start + len("JSONDecodeError"))
    assert passage.text[first:last] == "JSONDecodeError"
    assert index.raw_span(passage, start, start + len("JSONDecodeError")) == (passage.start + first, passage.start + last)


def test_no_chunk_of_the_python_docs_straddles_a_heading(pydocs_index: rag.Index) -> None:
    # "Encoders and Decoders" has no text of its own before its first definition: it still starts a chunk
    loads = next(p for p in all_passages(pydocs_index) if p.clean_text.startswith("json.loads("))
    assert loads.section.startswith("json — JSON encoder and decoder › Basic Usage › json.loads("), loads.section
    assert "Encoders and Decoders" not in loads.clean_text and "class json.JSONDecoder" not in loads.clean_text


def test_markdown_names_code_and_sections_survive(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "guide.md").write_text(
        "# Getting Started\n\nCall `__init__` with **kwargs; the snake_case name __main__ stays.\n\n"
        "## Install\n\nRun this:\n\n```python\ndef main(**kwargs):\n    return __name__\n```\n\n"
        "## Usage\n\nThe __missing__ hook handles absent keys.\n", encoding="utf-8")
    index = rag.build_index(folder, tmp_path / "index", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
    assert index.documents()[0].title == "Getting Started"
    passages = all_passages(index)
    text = "\n".join(passage.clean_text for passage in passages)
    for name in ("__init__", "**kwargs", "snake_case", "__main__", "__missing__", "def main(**kwargs):\n    return __name__"):
        assert name in text, name
    sections = {passage.section for passage in passages}
    assert sections == {"Getting Started", "Getting Started › Install", "Getting Started › Usage"}
    usage = next(passage for passage in passages if "__missing__" in passage.clean_text)
    assert usage.section == "Getting Started › Usage" and usage.page is None


def test_each_pdf_passage_knows_its_page(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    topics = {1: "volcanoes erupt molten basalt", 2: "glaciers carve deep valleys", 3: "deserts receive little rain"}
    pages = [["Field Notes Quarterly", f"On page {number}, {topic}. " * 3, f"Page {number} of 3"]
             for number, topic in topics.items()]
    (folder / "notes.pdf").write_bytes(make_pdf(pages))
    index = rag.build_index(folder, tmp_path / "index", settings=rag.Settings(model="fake", chunk_size=100,
                                                                             chunk_overlap=0), embedder=FakeEmbedder())
    for number, topic in topics.items():
        found = index.search(topic, k=1, mode="bm25")[0]
        assert found.page == number and topic in found.clean_text
    assert not any("Field Notes Quarterly" in p.clean_text or "of 3" in p.clean_text for p in all_passages(index))


def test_word_documents_have_sections_and_tables(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    make_docx(folder / "plan.docx", [("heading", ("Harvest Plan", 1)), ("paragraph", "The orchard yields walnuts in October."),
                                     ("heading", ("Budget", 2)), ("table", [("Item", "Cost"), ("Tractor", "1200")])])
    index = rag.build_index(folder, tmp_path / "index", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
    assert index.documents()[0].title == "Harvest Plan"
    walnut = index.search("walnuts October", k=1, mode="bm25")[0]
    tractor = index.search("Tractor cost", k=1, mode="bm25")[0]
    assert walnut.section == "Harvest Plan" and tractor.section == "Harvest Plan › Budget"
    assert "Tractor | 1200" in tractor.clean_text


@pytest.mark.parametrize("suffix", [".html", ".md"])
@pytest.mark.parametrize("opening", ["<script>", "<!--"])
def test_a_megabyte_of_unclosed_markup_ingests_in_linear_time(tmp_path: Path, suffix: str, opening: str) -> None:
    """Four times the text takes about four times as long (sixteen if quadratic: minutes at 1 MB), so the
    bound holds on a slow or busy machine, where a bound in seconds would not."""
    unit = opening + "x "

    def seconds_for(size: int) -> float:
        folder = tmp_path / f"docs-{size}"
        folder.mkdir()
        (folder / f"hostile{suffix}").write_text("Walnuts are tasty. " + unit * (size // len(unit) + 1), encoding="utf-8")
        started = time.perf_counter()
        rag.build_index(folder, tmp_path / f"index-{size}", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
        return time.perf_counter() - started

    quarter = seconds_for(2**18)
    assert seconds_for(2**20) < 8 * quarter + 1


def test_a_plain_text_file_is_indexed_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("Plain notes: <script>kept as text</script> and __init__ too.\n", encoding="utf-8")
    index = rag.build_index(folder, tmp_path / "index", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
    assert "<script>kept as text</script> and __init__ too." in all_passages(index)[0].clean_text


def test_example_questions_come_from_the_corpus_served(pydocs_index: rag.Index) -> None:
    from app.ui.examples import example_questions

    examples = example_questions(pydocs_index)
    assert len(examples) == 4 and len(set(examples)) == 4
    assert all(question.startswith("What does ") and question.endswith(" do?") for question in examples), examples
    assert not any("course" in question.lower() for question in examples)
