"""The Documents tab in headless Chromium, and ``/documents`` and ``/delete_document`` through gradio_client,
against a ``rag chat`` server of its own (these tests delete documents, so they do not share the chat tests'
index). Tests that delete take documents nobody else uses: each test stays independent of the others' order.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_ui_browser
from conftest import ROOT, running_chat
from playwright.sync_api import expect
from test_ui_browser import TIMEOUT_MS, Chat

import rag
from rag.embedding import SentenceTransformerEmbedder

pytestmark = pytest.mark.browser
browser, chat = test_ui_browser.browser, test_ui_browser.chat  # the chat tests' fixtures, shared

SEED = "000_0220f7c6bd20be88.txt"
OTHER_SEED = "001_b8239f67380c7682.txt"
EXTRA = {  # folder documents that only the deletion tests touch, each with words found nowhere else
    "glaciers.md": "# Glacier Survey\n\n## Findings\n\nThe Vatnajokull glacier retreated 41 metres in 2022.\n\n"
                   "## Methods\n\nSurveyors measured the snout with GPS.\n",
    "orchids.txt": "Orchid census\n\nThe Quillwort orchid census counted 212 flowering plants in the Pindus valley.\n",
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    folder = tmp_path_factory.mktemp("documents-server")
    shutil.copytree(ROOT / "seeds", folder / "docs")
    for name, text in EXTRA.items():
        (folder / "docs" / name).write_text(text, encoding="utf-8")
    rag.build_index(folder / "docs", folder / "index", embedder=embedder)
    return folder / "index"


@pytest.fixture(scope="module")
def server_url(index_dir: Path) -> Iterator[str]:
    with running_chat(index_dir, index_dir.parent / "server.log") as url:
        yield url


def open_documents(chat: Chat) -> None:
    chat.page.get_by_role("tab", name="Documents").click()
    expect(chat.page.locator("#documents")).to_contain_text(SEED)


def row_of(chat: Chat, doc_id: str):  # type: ignore[no-untyped-def]
    """The table row of ``doc_id`` (by role: the table also holds a hidden row that measures column widths)."""
    return chat.page.locator("#documents").get_by_role("row").filter(has_text=doc_id)


def test_the_table_lists_title_date_sections_chunks_and_source(chat: Chat):
    open_documents(chat)
    headers = chat.page.locator("#documents").get_by_role("columnheader")
    expect(headers).to_contain_text(["Title", "Date", "Sections", "Chunks", "Source", "File"])
    seed = row_of(chat, SEED)
    expect(seed).to_contain_text("Second Short Course for Chief Secretaries")
    expect(seed).to_contain_text("2024-01-30")
    expect(seed).to_contain_text("folder")
    expect(row_of(chat, "glaciers.md")).to_contain_text("Glacier Survey")
    cells = row_of(chat, "glaciers.md").get_by_role("gridcell")
    expect(cells.nth(2)).to_have_text("2")  # Findings, Methods
    font = chat.page.evaluate("getComputedStyle(document.querySelector('#documents td')).fontFamily")
    assert "mono" not in font.lower(), font
    assert chat.errors == []


def test_a_rejected_upload_replaces_the_last_success(chat: Chat, tmp_path: Path):
    open_documents(chat)
    note = tmp_path / "lighthouse_note.txt"
    note.write_text("The Skerryvore lighthouse keeper logged one storm.\n", encoding="utf-8")
    status = chat.page.locator("#upload-status")
    chat.page.locator("#upload input[type=file]").set_input_files(str(note))
    expect(status).to_contain_text("1 added", timeout=TIMEOUT_MS)
    expect(status).to_contain_text("1 chunk embedded")  # not "1 chunks"
    expect(row_of(chat, "uploads/lighthouse_note.txt")).to_contain_text("upload")
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ\x90\x00")
    chat.page.locator("#upload input[type=file]").set_input_files(str(tool))
    expect(status).to_have_text("tool.exe: unsupported file type; upload .txt, .md, .markdown, .html, .htm, .pdf, "
                                ".docx files.")
    expect(status.locator(".rag-status-error")).to_be_visible()
    assert chat.errors == []


def test_deleting_an_upload_in_the_tab_removes_it_its_file_and_its_passages(chat: Chat, tmp_path: Path,
                                                                           index_dir: Path, server_url: str):
    client = pytest.importorskip("gradio_client").Client(server_url, verbose=False)
    open_documents(chat)
    upload = tmp_path / "beekeeping.md"
    upload.write_text("# Beekeeping Log\n\nThe Carniolan hive at Ostrava swarmed on 3 May.\n", encoding="utf-8")
    chat.page.locator("#upload input[type=file]").set_input_files(str(upload))
    expect(row_of(chat, "uploads/beekeeping.md")).to_be_visible(timeout=TIMEOUT_MS)
    assert (index_dir / "uploads" / "beekeeping.md").exists()

    row_of(chat, "uploads/beekeeping.md").get_by_role("gridcell").first.click()  # picks it in the list to delete
    expect(chat.page.locator("#delete-choice input")).to_have_value("Beekeeping Log (uploads/beekeeping.md)")
    chat.page.once("dialog", lambda dialog: dialog.accept())
    chat.page.locator("#delete").click()
    expect(chat.page.locator("#upload-status")).to_have_text(
        "Deleted Beekeeping Log (uploads/beekeeping.md, 1 chunk) and its uploaded file.", timeout=TIMEOUT_MS)
    expect(row_of(chat, "uploads/beekeeping.md")).to_have_count(0)
    assert not (index_dir / "uploads" / "beekeeping.md").exists()
    passages = client.predict("Carniolan hive Ostrava swarmed", 5, "bm25", api_name="/search")
    assert all(passage["doc_id"] != "uploads/beekeeping.md" for passage in passages)
    assert chat.errors == []


def test_refusing_the_confirmation_deletes_nothing(chat: Chat):
    open_documents(chat)
    row_of(chat, OTHER_SEED).get_by_role("gridcell").first.click()
    chat.page.once("dialog", lambda dialog: dialog.dismiss())
    chat.page.locator("#delete").click()
    expect(chat.page.locator("#upload-status")).to_contain_text("Nothing deleted")
    expect(row_of(chat, OTHER_SEED)).to_have_count(1)
    assert chat.errors == []


def test_gradio_client_lists_and_deletes_documents(server_url: str):
    client = pytest.importorskip("gradio_client").Client(server_url, verbose=False)
    documents = client.predict(api_name="/documents")
    by_id = {document["doc_id"]: document for document in documents}
    assert {SEED, "orchids.txt"} <= set(by_id)
    assert by_id[SEED]["source"] == "folder" and by_id[SEED]["n_chunks"] >= 1
    assert client.predict("Quillwort orchid census", 3, "bm25", api_name="/search")[0]["doc_id"] == "orchids.txt"

    removed = client.predict("orchids.txt", api_name="/delete_document")
    assert removed["doc_id"] == "orchids.txt" and removed["n_chunks"] == 1 and removed["source"] == "folder"
    assert "the next `rag ingest` of that folder adds it back" in removed["message"]
    assert "orchids.txt" not in {document["doc_id"] for document in client.predict(api_name="/documents")}
    for mode in ("bm25", "dense", "hybrid"):
        passages = client.predict("Quillwort orchid census in the Pindus valley", 10, mode, api_name="/search")
        assert all(passage["doc_id"] != "orchids.txt" for passage in passages), mode

    with pytest.raises(Exception) as unknown:
        client.predict("no-such-file.txt", api_name="/delete_document")
    message = str(unknown.value)
    assert "No document 'no-such-file.txt' in the index" in message and "Traceback" not in message
