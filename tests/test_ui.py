"""The UI's HTML helpers without a browser: everything from a document or a model is escaped, and
the highlighted evidence is exactly the cited sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from app.ui import render
from app.ui.app import chat_turn
from rag import Answer, Citation, InvalidQueryError, Passage

FILE = (
    "Title line\n\n"
    "The course opened on March 3. Jo Yong Won made an opening address. Lectures followed.\n\n"
    "A closing line."
)
PASSAGE_START = FILE.index("The course")
PASSAGE_END = FILE.index("followed.") + len("followed.")
EVIDENCE = "Jo Yong Won made an opening address."


def make_passage(text: str = FILE[PASSAGE_START:PASSAGE_END], start: int = PASSAGE_START, **fields) -> Passage:
    values = dict(score=0.8312, rank=1, source="course.txt", title="The course", doc_id="course.txt", chunk_id=0,
                  start=start, end=start + len(text), line_start=3, line_end=3, date="2024-01-30")
    return Passage(text=text, **{**values, **fields})


def evidence_citation(marker: int = 1) -> Citation:
    start = FILE.index(EVIDENCE)
    return Citation(marker, start, start + len(EVIDENCE), EVIDENCE)


def cited_answer(text: str = f"{EVIDENCE} [1]", **fields) -> Answer:
    return Answer(question="Who opened it?", text=text, passages=(make_passage(),), abstained=False,
                  citations=(evidence_citation(),), **fields)


def test_markup_in_passage_text_comes_out_escaped():
    raw = ('Before <script>alert(1)</script> <img src=x onerror="alert(1)"> [click](javascript:alert(1)) '
           "and &lt;script&gt;alert(2)&lt;/script&gt; after.")
    card = render.source_html(make_passage(raw, start=0), "[1]", document=raw)
    assert "<script" not in card and "<img" not in card and "javascript:" not in card and "<a " not in card
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in card  # an entity decoded by cleaning stays text
    assert "Before" in card and "after." in card


def test_titles_and_file_names_are_escaped():
    card = render.source_html(make_passage(title="<b onmouseover=x>T</b>", source='"><svg onload=x>'), "[1]")
    assert "<b " not in card and "<svg" not in card
    assert "&lt;b onmouseover=x&gt;T&lt;/b&gt;" in card and "&quot;&gt;&lt;svg onload=x&gt;" in card


def test_highlight_marks_the_cited_sentence_at_its_file_offsets():
    card = render.source_html(make_passage(), "[1]", [evidence_citation()])
    assert card.count('<mark class="rag-evidence">') == 1
    assert f'<mark class="rag-evidence">{EVIDENCE}</mark>' in card
    assert 'The course opened on March 3. <span class="rag-anchor-1"></span><mark' in card  # where [1] scrolls to


def test_highlight_clips_and_merges_spans():
    assert render.highlight("abcdef", [(-5, 2), (1, 3), (10, 20)]) == '<mark class="rag-evidence">abc</mark>def'
    assert render.highlight("a<b>c", []) == "ac"  # markup is cleaned, then escaped
    assert render.highlight("x &lt;b&gt; y", [(0, 1)]) == '<mark class="rag-evidence">x</mark> &lt;b&gt; y'


def test_the_short_answer_is_strong_inside_its_marked_evidence():
    assert render.highlight("one two three four", [(4, 13)], [(8, 13)]) == (
        'one <mark class="rag-evidence">two <strong class="rag-answer">three</strong></mark> four')
    passage = make_passage()
    citation = evidence_citation()
    short = rag.Citation(1, citation.start, citation.end, citation.text, citation.start, citation.start + 11)
    answer = rag.Answer(question="Who?", text=f"Jo Yong Won — {EVIDENCE} [1]", passages=(passage,), abstained=False,
                        citations=(short,))
    assert '<span class="rag-short">Jo Yong Won</span> — ' in render.answer_html(answer)
    card = render.source_html(passage, "[1]", [short])
    assert '<mark class="rag-evidence"><strong class="rag-answer">Jo Yong Won</strong> made an opening address.</mark>' in card


def test_context_shows_the_passage_inside_its_document():
    context = render.context_html(FILE, make_passage(), [evidence_citation()])
    assert context.startswith("Title line") and context.endswith("A closing line.")
    inside = context[context.index('<span class="rag-in-passage">') :]
    assert inside.startswith('<span class="rag-in-passage">The course opened')
    assert f'<mark class="rag-evidence">{EVIDENCE}</mark>' in inside
    long_file = "x" * 5000 + FILE + "y" * 5000
    window = render.context_html(long_file, make_passage(start=PASSAGE_START + 5000), radius=100)
    assert window.startswith("…x") and window.endswith("y…") and len(window) < 600


def test_answer_bubble_has_markers_and_escapes_llm_text():
    bubble = render.answer_html(cited_answer(
        text='Jo Yong Won <img src=x onerror="alert(1)"> [click](javascript:alert(1)) spoke [1].',
        notice="This answer cites no passage: treat it as ungrounded."))
    assert '<sup class="rag-cite">[1]</sup>' in bubble
    assert "<img" not in bubble and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in bubble
    assert "<a " not in bubble and "href" not in bubble
    assert '<div class="rag-notice">⚠ This answer cites no passage' in bubble


def test_abstention_is_distinct_and_lists_related_passages_without_citing_them():
    related = make_passage(title="Second <Course>", source="<b>.txt")
    later = make_passage(title="Second <Course>", source="<b>.txt", line_start=7, line_end=9)
    answer = Answer(question="Where?", text="The documents do not say.", passages=(), abstained=True,
                    related=(related, later))
    bubble = render.answer_html(answer)
    assert "Not in the documents" in bubble and "rag-abstain" in bubble and "rag-cite" not in bubble
    assert "Possibly related" in bubble and "<b>" not in bubble
    assert "<li>Second &lt;Course&gt; (&lt;b&gt;.txt, line 3; &lt;b&gt;.txt, lines 7–9)</li>" in bubble
    panel = render.sources_html(answer, lambda doc_id: FILE)
    assert "Possibly related (not cited)" in panel and "rag-evidence" not in panel and ">[1]<" not in panel


def test_sources_panel_lists_each_cited_passage_with_its_place():
    panel = render.sources_html(cited_answer(), lambda doc_id: FILE if doc_id == "course.txt" else None)
    assert "[1]" in panel and "The course" in panel
    assert "2024-01-30 · course.txt, line 3 · score 0.831" in panel
    assert "Show in document" in panel and panel.count("rag-evidence") == 2  # in the passage and in its context
    assert "Ask a question" in render.sources_html(None)


def test_api_records_are_json_with_evidence():
    record = json.loads(json.dumps(render.answer_record(cited_answer())))
    assert record["text"].endswith("[1]") and not record["abstained"]
    assert record["sources"][0]["evidence"] == [EVIDENCE]
    assert record["sources"][0]["source"] == "course.txt" and record["sources"][0]["line_start"] == 3


class StreamingIndex:
    """Answers every question with a partial then a final answer, and records the history it was given."""

    def __init__(self) -> None:
        self.histories: list[list[str]] = []

    def ask_stream(self, question: str, k: int, mode: str, history: list[str]):  # type: ignore[no-untyped-def]
        self.histories.append(list(history))
        if not question.strip():
            raise InvalidQueryError("Please type a question: this one is empty.")
        yield Answer(question=question, text="Jo Yong", passages=(make_passage(),), abstained=False,
                     partial=True)
        yield cited_answer()

    def document_text(self, doc_id: str) -> str:
        return FILE


def test_a_chat_turn_streams_and_passes_earlier_questions_as_history():
    index = StreamingIndex()
    turns = list(chat_turn(index, "Who opened it? <b>", [], [], 5, "hybrid"))  # type: ignore[arg-type]
    (partial, no_sources, _, _), (final, sources, _, _), (_, _, asked, answers) = turns
    assert no_sources is None and "Jo Yong" in partial[-1]["content"] and "rag-cited" not in partial[-1]["content"]
    assert partial[0] == {"role": "user", "content": '<div class="rag-text">Who opened it? &lt;b&gt;</div>'}
    assert '<sup class="rag-cite">[1]</sup>' in final[-1]["content"] and "rag-evidence" in (sources or "")
    assert asked == ["Who opened it? <b>"]
    follow_up = list(chat_turn(index, "And the first?", final, asked, 3, "bm25"))  # type: ignore[arg-type]
    assert index.histories == [[], ["Who opened it? <b>"]]
    assert len(follow_up[-1][0]) == 4 and follow_up[-1][2] == ["Who opened it? <b>", "And the first?"]
    assert [answer.text for answer in answers] == [cited_answer().text]


def test_a_library_error_becomes_one_sentence_in_the_chat():
    turns = list(chat_turn(StreamingIndex(), "  ", [], ["earlier"]))  # type: ignore[arg-type]
    assert len(turns) == 1
    chat, sources, asked, answers = turns[0]
    error = '<div class="rag-error">Please type a question: this one is empty.</div>'
    assert chat == [{"role": "assistant", "content": error}]
    assert sources is None and asked == ["earlier"] and answers == [None]


def test_importing_the_ui_does_not_load_gradio():
    code = "import sys, app.ui.app; print('gradio' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_a_login_guards_every_route_and_no_uploads_removes_the_upload_box(tmp_path: Path):
    import urllib.error
    import urllib.request

    from conftest import SEEDS, FakeEmbedder, free_port

    from app.ui.app import launch

    index = rag.build_index(SEEDS, tmp_path / "index", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
    port = free_port()
    demo = launch(index, port=port, block=False, auth=("alice", "secret"), uploads=False)
    try:
        for route in ("config", "gradio_api/info"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/{route}", timeout=10)
            assert refused.value.code == 401
        elements = {getattr(block, "elem_id", None) for block in demo.blocks.values()}
        assert "documents" in elements and "upload" not in elements
    finally:
        demo.close()
