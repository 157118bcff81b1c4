"""A conversation as Markdown, for the "Export" button: each question, its answer, the sources it cites
(title, file, page, lines) and the evidence each ``[n]`` quotes.

    ## 1. Who gave the opening address?

    Jo Yong Won ... made an opening address. [1]

    [1] **Second Short Course ... Held**, 000_0220f7c6bd20be88.txt, lines 19–23

    > Jo Yong Won, member of the Presidium ... made an opening address.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from rag import Answer

from .render import place

KEEP_SECONDS = 3600  # exported files older than this are removed at the next export


def conversation_markdown(answers: Sequence[Answer | None], title: str = "Conversation with the documents") -> str:
    """The answered turns of a conversation (``None``, a turn that failed, is left out) as Markdown."""
    lines = [f"# {title}", ""]
    for number, answer in enumerate((answer for answer in answers if answer is not None), 1):
        lines += [f"## {number}. {_flat(answer.question)}", ""]
        if answer.notice:
            lines += [f"*{_flat(answer.notice)}*", ""]
        if answer.abstained:
            lines += [f"**Not in the documents.** {answer.text}", ""]
            if answer.related:
                lines += ["Possibly related, not cited:", ""]
                lines += [f"- **{_flat(passage.title)}**, {place(passage)}" for passage in answer.related]
                lines.append("")
            continue
        lines += [answer.text, ""]
        for marker, passage in enumerate(answer.passages, 1):
            lines += [f"[{marker}] **{_flat(passage.title)}**, {place(passage)}", ""]
            for citation in answer.citations:
                if citation.marker == marker:
                    lines += [f"> {_flat(citation.text)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_export(answers: Sequence[Answer | None], folder: Path) -> Path:
    """Write ``conversation_markdown(answers)`` to ``folder/<its hash>/conversation.md``; returns the path.

    One folder per content keeps the download name ``conversation.md`` while two sessions never
    overwrite each other's file; old exports are removed on the way.
    """
    text = conversation_markdown(answers)
    target = folder / hashlib.sha256(text.encode()).hexdigest()[:16] / "conversation.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    cutoff = time.time() - KEEP_SECONDS
    for old in folder.iterdir():
        if old != target.parent and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return target


def _flat(text: str) -> str:
    """One line with single spaces: a file's line breaks would end a Markdown heading or quote early."""
    return " ".join(text.split())
