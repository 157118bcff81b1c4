"""The chat in headless Chromium over real documentation (three pages of Debian's python3.11-doc) rather
than the seeds: its own example questions, and an API question answered with the exception's name and
its evidence brought into view by a click on ``[1]``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_ui_browser
from conftest import PYTHON_DOCS, running_chat
from playwright.sync_api import expect
from test_ui_browser import Chat

import rag
from rag.embedding import Embedder

pytestmark = pytest.mark.browser
browser, chat = test_ui_browser.browser, test_ui_browser.chat  # the chat tests' fixtures, shared
PAGES = ("json.html", "os.path.html", "pathlib.html")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("pydocs-server")
    (folder / "docs").mkdir()
    for page in PAGES:
        shutil.copy(PYTHON_DOCS / page, folder / "docs" / page)
    rag.build_index(folder / "docs", folder / "index", embedder=embedder)
    with running_chat(folder / "index", folder / "server.log") as url:
        yield url


def test_documentation_gets_its_own_examples_and_a_cited_exception_name(chat: Chat, tmp_path: Path):
    expect(chat.page.get_by_text("Examples from these documents")).to_be_visible()
    page_text = chat.page.locator("body").inner_text()
    assert not [words for words in ("short course", "secretaries", "Jo Yong Won") if words in page_text]
    reply = chat.ask("What exception does json.loads raise on invalid JSON?")
    expect(reply).to_contain_text("JSONDecodeError")
    reply.locator("sup.rag-cite", has_text="[1]").first.click()
    card = chat.page.locator("#sources .rag-source.rag-for-1")
    expect(card).to_have_attribute("open", "")
    evidence = card.locator(".rag-passage mark.rag-evidence").first
    expect(evidence).to_contain_text("JSONDecodeError")
    expect(evidence).to_be_in_viewport()
    expect(card.locator(".rag-meta")).to_contain_text("json.html, lines")
    assert chat.errors == []
