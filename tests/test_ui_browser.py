"""The chat in headless Chromium against a real ``rag chat`` server over a fresh seeds index.

One server and one browser serve the whole module; every test opens its own page (its own chat
session), collects the page's JavaScript errors and leaves a screenshot in its tmp dir on failure.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, running_chat
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

import rag
from rag.embedding import Embedder

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000  # CI runs on two cores; the first answer also warms the model up
SEED_QUESTION = "Who gave the opening address at the second short course for chief secretaries?"
UNANSWERABLE = "How many goals did the football team score in the final?"
HOSTILE_DOCUMENT = """# Zanzibar Clove Harvest Report &lt;img src=x onerror=window.__xss=3&gt;

The Zanzibar clove harvest festival was opened by the harvest inspector Amina Juma on 12 August 2023.

Markup in the report: <script>window.__xss=1</script> and <img src=x onerror="window.__xss=1"> and a link
[click](javascript:window.__xss=1).

Escaped markup in the report: &lt;script&gt;window.__xss=2&lt;/script&gt; and
&lt;img src=x onerror="window.__xss=2"&gt;.
"""
FAILED = pytest.StashKey[bool]()


class _RecordOutcome:
    """Remembers whether a test's call phase failed, so its page fixture can take a screenshot."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.when == "call":
            item.stash[FAILED] = report.failed
        return report


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """``rag chat`` in a subprocess over its own seeds index (the upload test writes to it)."""
    folder = tmp_path_factory.mktemp("ui-server")
    rag.build_index(ROOT / "seeds", folder / "index", embedder=embedder)
    with running_chat(folder / "index", folder / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (or `make setup` as root)")
    recorder = _RecordOutcome()
    request.config.pluginmanager.register(recorder)
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    request.config.pluginmanager.unregister(recorder)


@dataclass
class Chat:
    """A page on the app with the JavaScript errors it raised."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def ask(self, question: str) -> Locator:
        """Type a question, press Enter, and return the bot's reply once it is rendered."""
        replies = self.page.locator("#chat .bot.message")
        before = replies.count()
        self.page.locator("#question textarea").fill(question)
        self.page.locator("#question textarea").press("Enter")
        expect(replies).to_have_count(before + 1, timeout=TIMEOUT_MS)
        reply = replies.last
        expect(reply.locator(".rag-text, .rag-abstain, .rag-error").first).to_be_visible(timeout=TIMEOUT_MS)
        return reply

    def open_context(self, number: int = 0) -> Locator:
        """Open "Show in document" on a source card and return the document window it shows."""
        card = self.page.locator("#sources .rag-source").nth(number)
        card.locator("summary", has_text="Show in document").click()
        context = card.locator(".rag-context-text")
        expect(context).to_be_visible()
        return context


@pytest.fixture
def chat(browser: Browser, server_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chat]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    session = Chat(page)
    page.on("pageerror", lambda error: session.errors.append(str(error)))
    page.goto(server_url)
    expect(page.locator("#question textarea")).to_be_visible()
    yield session
    if request.node.stash.get(FAILED, False):
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failing page: {shot}")
    context.close()


def test_seed_question_is_answered_with_a_citation_and_its_source(chat: Chat):
    reply = chat.ask(SEED_QUESTION)
    expect(reply).to_contain_text("Jo Yong Won")
    expect(reply.locator("sup.rag-cite").first).to_have_text("[1]")
    card = chat.page.locator("#sources .rag-source").first
    expect(card.locator(".rag-num")).to_have_text("[1]")
    expect(card.locator(".rag-meta")).to_contain_text("000_0220f7c6bd20be88.txt, line")
    expect(card.locator(".rag-meta")).to_contain_text("2024-01-30")
    assert chat.errors == []


def test_a_source_opens_in_its_document_with_the_evidence_highlighted(chat: Chat):
    reply = chat.ask("When was the first short course held?")
    expect(reply.locator("sup.rag-cite").first).to_be_visible()
    context = chat.open_context(0)
    evidence = context.locator("mark.rag-evidence").first
    expect(evidence).to_be_visible()
    expect(context.locator(".rag-in-passage")).to_contain_text(evidence.inner_text())
    # The highlighted sentence is the one the answer states.
    assert " ".join(evidence.inner_text().split()) in " ".join(reply.inner_text().split())
    assert chat.errors == []


def test_unanswerable_question_shows_an_abstention_not_citations(chat: Chat):
    reply = chat.ask(UNANSWERABLE)
    expect(reply.locator(".rag-abstain")).to_contain_text("Not in the documents")
    expect(reply.locator("sup.rag-cite")).to_have_count(0)
    expect(chat.page.locator("#sources h3")).to_have_text("Possibly related (not cited)")
    expect(chat.page.locator("#sources mark.rag-evidence")).to_have_count(0)
    assert chat.errors == []


def test_library_errors_become_a_sentence_in_the_chat(chat: Chat):
    reply = chat.ask("   ")
    expect(reply.locator(".rag-error")).to_have_text("Please type a question: this one is empty.")
    expect(chat.page.locator("body")).not_to_contain_text("Traceback")
    assert chat.errors == []


def test_uploaded_markup_is_shown_as_text_and_never_runs(chat: Chat, tmp_path: Path):
    upload = tmp_path / "zanzibar_report.md"
    upload.write_text(HOSTILE_DOCUMENT)
    page = chat.page
    page.get_by_role("tab", name="Documents").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    expect(page.locator("#upload-status")).to_contain_text("1 added", timeout=TIMEOUT_MS)
    expect(page.locator("#documents")).to_contain_text("uploads/zanzibar_report.md")
    expect(page.locator("#documents")).to_contain_text("Zanzibar Clove Harvest Report <img src=x onerror=window.")
    page.get_by_role("tab", name="Chat").click()

    reply = chat.ask("Who opened the Zanzibar clove harvest festival?")
    expect(reply).to_contain_text("Amina Juma")
    expect(reply).to_contain_text("Zanzibar Clove Harvest Report <img src=x onerror=window.")  # the cited title
    context = chat.open_context(0)
    expect(context).to_contain_text("<script>window.")  # the escaped payload, visible as text
    expect(context).to_contain_text('<img src=x onerror="window.')
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("[...document.querySelectorAll('[href]')].filter("
                         "e => e.getAttribute('href').trim().toLowerCase().startsWith('javascript:')).length") == 0
    assert page.locator("#sources script, #sources img, #sources a, #chat img, #documents img").count() == 0
    assert chat.errors == []


def test_gradio_client_reaches_the_named_endpoints(server_url: str):
    client_module = pytest.importorskip("gradio_client")
    client = client_module.Client(server_url, verbose=False)
    answer = client.predict("When was the first short course held?", 3, "hybrid", api_name="/ask")
    assert not answer["abstained"] and "[1]" in answer["text"]
    source = answer["sources"][0]
    assert source["evidence"] and source["evidence"][0] in source["text"]
    assert {"title", "source", "date", "line_start", "line_end", "score"} <= set(source)
    passages = client.predict("Ri Il Hwan", 2, "bm25", api_name="/search")
    assert [passage["rank"] for passage in passages] == [1, 2] and "Ri Il Hwan" in passages[0]["text"]
    documents = client.predict(api_name="/documents")
    assert {"000_0220f7c6bd20be88.txt", "001_b8239f67380c7682.txt"} <= {d["doc_id"] for d in documents}
    with pytest.raises(Exception, match="Please type a question"):
        client.predict("", 3, "hybrid", api_name="/ask")


def test_clicking_a_marker_opens_its_source_with_the_evidence_in_view(chat: Chat):
    reply = chat.ask(SEED_QUESTION)
    card = chat.page.locator("#sources .rag-source.rag-for-1")
    evidence = card.locator(".rag-passage mark.rag-evidence").first
    expect(evidence).to_be_visible()
    # Fold the card and scroll its passage away from the evidence, as a reader might have left it.
    card.locator("summary.rag-source-head").click()
    expect(card).not_to_have_attribute("open", "")
    card.evaluate("card => { card.open = true; const box = card.querySelector('.rag-passage'); "
                  "box.scrollTop = box.scrollHeight; card.open = false; }")
    reply.locator("sup.rag-cite", has_text="[1]").first.click()
    expect(card).to_have_attribute("open", "")
    expect(card).to_have_class(re.compile(r"\brag-target\b"))
    expect(evidence).to_be_in_viewport()
    expect(card.locator(".rag-source-head")).to_contain_text("Second Short Course for Chief Secretaries")
    expect(card.locator(".rag-meta")).to_contain_text("000_0220f7c6bd20be88.txt, lines")
    assert chat.errors == []


def test_a_marker_of_an_earlier_answer_brings_back_that_answers_sources(chat: Chat):
    chat.ask(SEED_QUESTION)
    chat.ask("When was the first short course held?")
    panel = chat.page.locator("#sources .rag-sources")
    expect(panel).to_have_attribute("data-turn", "1")
    expect(panel.locator(".rag-meta").first).to_contain_text("001_b8239f67380c7682.txt")
    chat.page.locator("#chat .rag-turn-0 sup.rag-cite").first.click()  # in the first answer
    expect(panel).to_have_attribute("data-turn", "0")
    card = panel.locator(".rag-for-1")
    expect(card.locator(".rag-meta")).to_contain_text("000_0220f7c6bd20be88.txt")
    expect(card).to_have_attribute("open", "")
    expect(card.locator("mark.rag-evidence").first).to_be_in_viewport()
    assert chat.errors == []


def test_retrieval_settings_are_folded_under_advanced_with_hybrid_first(chat: Chat):
    page = chat.page
    expect(page.locator("#mode")).to_be_hidden()
    page.get_by_text("Advanced", exact=True).click()
    expect(page.locator("#mode")).to_be_visible()
    expect(page.locator("#mode")).to_contain_text("hybrid: meaning and exact words combined, the best")
    expect(page.locator("#mode")).to_contain_text("dense: meaning only")
    expect(page.locator("#mode")).to_contain_text("bm25: exact words only")
    expect(page.locator("#mode input[value=hybrid]")).to_be_checked()
    expect(page.locator("#k input[type=number]")).to_have_value("5")
    assert chat.errors == []


def test_the_conversation_downloads_as_markdown_with_citations_and_evidence(chat: Chat):
    export = chat.page.locator("#export")
    expect(export).to_be_disabled()
    reply = chat.ask(SEED_QUESTION)
    expect(export).to_be_enabled(timeout=TIMEOUT_MS)
    answer = reply.locator(".rag-text").first.inner_text()
    evidence = chat.page.locator("#sources .rag-for-1 .rag-passage mark.rag-evidence").first.inner_text()
    with chat.page.expect_download() as download:
        export.click()
    assert download.value.suggested_filename == "conversation.md"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# Conversation with the documents\n")
    assert f"## 1. {SEED_QUESTION}\n\n{' '.join(answer.split())}" in " ".join(text.split(" "))
    assert "[1] **Second Short Course for Chief Secretaries for City and County Party Committees Held**, " \
           "000_0220f7c6bd20be88.txt, lines " in text
    quote = next(line for line in text.splitlines() if line.startswith("> "))
    assert quote == f"> {' '.join(evidence.split())}"  # the sentence highlighted in the sources panel
    assert chat.errors == []


def test_a_new_question_is_followed_to_the_bottom_after_a_click_on_an_earlier_answer(chat: Chat):
    for question in (SEED_QUESTION, "When was the first short course held?", SEED_QUESTION):
        reply = chat.ask(question)
        expect(reply.locator(".rag-cited")).to_be_attached()  # the final answer, not a streamed part
        expect(reply).to_be_in_viewport(ratio=1)
    chat.page.wait_for_timeout(1000)  # gradio scrolls 300 ms after each update: that would undo the click's scroll
    # Clicking [1] in the first answer scrolls the chat up to it, as a reader does, and opens its source.
    chat.page.locator("#chat .rag-turn-0 sup.rag-cite").first.click()
    panel = chat.page.locator("#sources .rag-sources")
    expect(panel).to_have_attribute("data-turn", "0")
    expect(panel.locator(".rag-for-1")).to_have_attribute("open", "")
    expect(chat.page.locator("#chat .rag-turn-2")).not_to_be_in_viewport()
    reply = chat.ask("When was the first short course held?")
    expect(reply.locator(".rag-cited")).to_be_attached()  # the final answer, not a streamed part
    # in view clips by the chat's scroll box too: the whole new answer shows without scrolling
    expect(reply).to_be_in_viewport(ratio=1)
    assert chat.errors == []
