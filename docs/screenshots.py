"""Regenerate the UI screenshots: docs/chat.png, docs/source.png, docs/abstention.png and docs/documents.png.

    .venv/bin/python docs/screenshots.py

Indexes the seeds into a temporary folder, serves the chat in this process and drives Debian's
headless Chromium (``apt-get install chromium``) through three questions and the Documents tab.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from playwright.sync_api import Page, ViewportSize, expect, sync_playwright  # noqa: E402

import rag  # noqa: E402
from app.ui.app import launch  # noqa: E402

DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT: ViewportSize = {"width": 1360, "height": 920}
ABSTAINING_QUESTION = "What was served for lunch at the course?"
TIMEOUT_MS = 60_000


def ask(page: Page, question: str) -> None:
    """Ask in a fresh chat and wait until the answer and its sources are on the page."""
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    expect(page.locator("#chat .bot.message")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.locator("#sources .rag-source").first).to_be_visible(timeout=TIMEOUT_MS)
    page.mouse.move(0, 0)  # no hover effects in the picture


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        index = rag.build_index(ROOT / "seeds", Path(folder) / "index")
        port = free_port()
        demo = launch(index, port=port, block=False)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"http://127.0.0.1:{port}/")
                ask(page, "Who gave the opening address at the second short course for chief secretaries?")
                cite = page.locator("#chat sup.rag-cite").first  # an answer, not an abstention
                cite.click()  # opens source [1] with its evidence in view
                expect(page.locator("#sources .rag-target")).to_be_visible()
                page.mouse.move(0, 0)
                page.screenshot(path=str(DOCS / "chat.png"))
                card = page.locator("#sources .rag-source").first
                card.locator("summary", has_text="Show in document").click()
                page.wait_for_timeout(300)  # the window scrolls to the passage
                page.screenshot(path=str(DOCS / "source.png"))
                page.get_by_role("tab", name="Documents").click()
                rows = page.locator("#documents").get_by_role("row")
                rows.filter(has_text="000_").get_by_role("gridcell").first.click()  # chosen to delete
                expect(page.locator("#delete-choice input")).not_to_have_value("")
                page.mouse.move(0, 0)
                page.screenshot(path=str(DOCS / "documents.png"))
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"http://127.0.0.1:{port}/")
                ask(page, ABSTAINING_QUESTION)
                expect(page.locator("#chat .rag-abstain")).to_be_visible()
                page.screenshot(path=str(DOCS / "abstention.png"))
                browser.close()
        finally:
            demo.close()
    for name in ("chat.png", "source.png", "abstention.png", "documents.png"):
        print(DOCS / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
