"""The UI's sources panel, Documents tab words and conversation export, without a browser: overlapping
passages merge into one exact card, text flows, counts take the right plural, exports quote the evidence."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import SEEDS, FakeEmbedder

import rag
from app.ui import documents as catalogue
from app.ui import render
from app.ui.export import conversation_markdown, write_export
from app.ui.merge import merge_passages
from rag import Answer, Citation, DocumentInfo, IngestReport, Passage

DOC = "".join(f"Sentence number {number} of the survey report.\n" for number in range(40))


def cut(start: int, end: int, doc_id: str = "survey.txt", **fields) -> Passage:
    values = dict(score=0.5, rank=1, source=doc_id, title="Survey", doc_id=doc_id, chunk_id=start, line_start=1,
                  line_end=2)
    return Passage(text=DOC[start:end], start=start, end=end, **{**values, **fields})


def cite(marker: int, sentence: str) -> Citation:
    start = DOC.index(sentence)
    return Citation(marker, start, start + len(sentence), sentence)


def test_overlapping_passages_of_a_document_merge_and_keep_exact_offsets():
    merged = merge_passages([cut(0, 100), cut(300, 400), cut(80, 200), cut(0, 100, doc_id="other.txt")])
    assert [(passage.doc_id, passage.start, passage.end, numbers) for passage, numbers in merged] == [
        ("survey.txt", 0, 200, (1, 3)), ("survey.txt", 300, 400, (2,)), ("other.txt", 0, 100, (4,))]
    for passage, _ in merged:
        assert passage.text == DOC[passage.start : passage.end]


def test_a_chain_of_overlaps_is_one_passage_and_touching_ones_stay_apart():
    [(chain, numbers)] = merge_passages([cut(0, 100, line_end=3), cut(150, 250, line_start=5, line_end=9),
                                         cut(90, 160, score=0.9)])
    assert (chain.start, chain.end, chain.text, numbers) == (0, 250, DOC[0:250], (1, 2, 3))
    assert (chain.line_start, chain.line_end, chain.score) == (1, 9, 0.9)
    [(inside, _)] = merge_passages([cut(0, 300), cut(50, 100)])
    assert inside.text == DOC[0:300]
    assert [numbers for _, numbers in merge_passages([cut(0, 100), cut(100, 200)])] == [(1,), (2,)]


def test_a_merged_card_holds_both_markers_and_anchors_each_evidence():
    first, second = "Sentence number 1 of the survey report.", "Sentence number 5 of the survey report."
    answer = Answer(question="Which?", text=f"{first} [1] {second} [2]", passages=(cut(0, 150), cut(100, 260)),
                    abstained=False, citations=(cite(1, first), cite(2, second)))
    panel = render.sources_html(answer, lambda doc_id: DOC, turn=3)
    assert panel.startswith('<div class="rag-sources" data-turn="3">')
    assert panel.count('<details class="rag-source') == 1
    assert '<details class="rag-source rag-for-1 rag-for-2" open>' in panel
    assert '<span class="rag-num">[1] [2]</span>' in panel
    assert f'<span class="rag-anchor-1"></span><mark class="rag-evidence">{first}</mark>' in panel
    assert f'<span class="rag-anchor-2"></span><mark class="rag-evidence">{second}</mark>' in panel
    assert "Click [n] in the answer" not in panel  # one card: nothing to choose between


def test_only_the_card_of_marker_one_starts_open():
    answer = Answer(question="Which?", text="a [1] b [2]", passages=(cut(0, 100), cut(0, 100, doc_id="b.txt")),
                    abstained=False)
    panel = render.sources_html(answer)
    assert '<details class="rag-source rag-for-1" open>' in panel
    assert '<details class="rag-source rag-for-2">' in panel


def test_card_text_flows_and_shows_section_page_file_and_lines():
    raw = "\n\nThe course\nopened   on March 3.\n\n\nLectures\tfollowed\n"
    passage = Passage(text=raw, score=0.5, rank=1, source="notes.pdf", title="Notes", doc_id="notes.pdf", chunk_id=1,
                      start=0, end=len(raw), line_start=3, line_end=4, section="Course › Opening", page=3)
    card = render.source_html(passage, "[1]")
    assert '<div class="rag-passage">The course opened on March 3.\n\nLectures followed</div>' in card
    assert '<div class="rag-section">Course › Opening</div>' in card
    assert "notes.pdf, page 3, lines 3–4" in card
    evidence = Citation(1, raw.index("Lectures"), raw.index("followed") + 8, "Lectures\tfollowed")
    assert '<mark class="rag-evidence">Lectures followed</mark>' in render.source_html(passage, "[1]", [evidence])


def test_an_answer_bubble_carries_its_turn_and_clickable_references():
    answer = Answer(question="Which?", text="Sentence one. [1]", passages=(cut(0, 100),), abstained=False)
    bubble = render.answer_html(answer, turn=2)
    assert bubble.startswith('<div class="rag-turn-2">') and '<sup class="rag-cite">[1]</sup>' in bubble
    assert '<span class="rag-cite-ref">[1] Survey</span>' in bubble


def test_counts_take_the_right_plural(tmp_path: Path):
    assert [render.count(n, "chunk") for n in (0, 1, 2)] == ["0 chunks", "1 chunk", "2 chunks"]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.txt").write_text("A single short note about orchids.\n", encoding="utf-8")
    index = rag.build_index(folder, tmp_path / "index", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
    assert "1 document · 1 chunk · model fake" in render.header_html(index.info())
    report = IngestReport(added=["uploads/a.txt"], chunks_embedded=1, seconds=0.42)
    assert catalogue.upload_summary(report) == "1 added, 0 updated, 0 unchanged; 1 chunk embedded in 0.4 s."
    report = IngestReport(added=["a.md", "b.md"], duplicates={"c.md": "a.md", "d.md": "b.md"}, skipped={"e.txt": "empty"},
                          chunks_embedded=2, seconds=1.0)
    assert catalogue.upload_summary(report).splitlines() == [
        "2 added, 0 updated, 0 unchanged, 2 duplicates skipped, 1 file skipped; 2 chunks embedded in 1.0 s.",
        "Skipped e.txt: empty", "c.md has the same content as a.md.", "d.md has the same content as b.md."]


def test_the_catalogue_says_where_each_document_came_from():
    upload = DocumentInfo("uploads/bees.md", "Bees", None, 1, "utf-8", 50, 2)
    folder = DocumentInfo("survey.txt", "Survey", "2024-01-30", 3, "utf-8", 900)
    assert catalogue.document_rows([upload, folder]) == [["Bees", "", 2, 1, "upload", "uploads/bees.md"],
                                                         ["Survey", "2024-01-30", 0, 3, "folder", "survey.txt"]]
    assert catalogue.document_record(upload)["source"] == "upload" and catalogue.document_record(upload)["doc_id"]
    assert catalogue.deleted_message(upload) == "Deleted Bees (uploads/bees.md, 1 chunk) and its uploaded file."
    assert catalogue.deleted_message(folder).startswith("Deleted Survey (survey.txt, 3 chunks) from the index.")
    assert "the next `rag ingest` of that folder adds it back" in catalogue.deleted_message(folder)


def test_the_export_quotes_each_answers_citations(seed_index: rag.Index):
    answered = seed_index.ask("Who attended the first short course for chief secretaries?")
    abstained = seed_index.ask("What is the capital of France?")
    assert not answered.abstained and answered.citations and abstained.abstained
    text = conversation_markdown([answered, None, abstained])
    assert text.startswith("# Conversation with the documents\n\n## 1. Who attended the first short course")
    assert f"\n\n{answered.text}\n\n" in text
    for marker, passage in enumerate(answered.passages, 1):
        assert f"[{marker}] **{passage.title}**, {passage.source}, line" in text
    for citation in answered.citations:
        assert f"\n> {' '.join(citation.text.split())}\n" in text
    assert "## 2. What is the capital of France?\n\n**Not in the documents.** " in text  # the failed turn is left out
    assert f"- **{abstained.related[0].title}**, {abstained.related[0].source}, line" in text


def test_an_export_is_a_file_named_conversation_md_and_old_ones_go(tmp_path: Path):
    stale = tmp_path / "0123456789abcdef"
    stale.mkdir()
    (stale / "conversation.md").write_text("old", encoding="utf-8")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    answer = Answer(question="Which?", text="Sentence one. [1]", passages=(cut(0, 100),), abstained=False)
    path = write_export([answer], tmp_path)
    assert path.name == "conversation.md" and path.read_text(encoding="utf-8") == conversation_markdown([answer])
    assert not stale.exists() and [folder.name for folder in tmp_path.iterdir()] == [path.parent.name]


@pytest.mark.parametrize("uploads", [True, False])
def test_retrieval_settings_are_advanced_and_deleting_needs_uploads(tmp_path: Path, uploads: bool):
    import gradio as gr

    from app.ui.app import MODE_HELP, build_app

    index = rag.build_index(SEEDS, tmp_path / "index", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
    demo = build_app(index, uploads=uploads)
    [advanced] = [block for block in demo.blocks.values() if isinstance(block, gr.Accordion)]
    assert advanced.label == "Advanced" and advanced.open is False
    def within(block):  # type: ignore[no-untyped-def]
        for child in getattr(block, "children", []):
            yield child
            yield from within(child)

    inside = {getattr(child, "elem_id", None): child for child in within(advanced)}
    assert inside["mode"].value == "hybrid" and inside["mode"].info == MODE_HELP and inside["k"].value == 5
    endpoints = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert {"ask", "search", "documents"} <= endpoints
    assert ("delete_document" in endpoints) is uploads
    elements = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
    assert ("delete" in elements) is uploads and "export" in elements
