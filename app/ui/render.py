"""HTML for the chat UI, built by hand so that every document and model string is escaped once.

Text from documents, uploads and the LLM is never trusted: each piece goes through
``html.escape`` and only the few tags written here (``div``, ``mark``, ``sup``, ``details``...)
reach the page, so ``<script>``, ``onerror=`` and ``[x](javascript:...)`` can only ever be text.
Passages are shown as the answerer reads them, with markup removed (``rag.markup``); offsets
stay those of the raw file, so each highlighted piece is cleaned on its own. No gradio here:
these functions are tested without a browser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, replace
from typing import Any

from rag import Answer, Citation, IndexInfo, Passage
from rag.markers import MARKER
from rag.markup import clean_markup
from rag.words import count

from .merge import merge_passages

CONTEXT_CHARS = 600  # characters of the document shown on each side of a passage
_BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)+")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_SPACES = re.compile(r"\s+")

def escape(text: str) -> str:
    return html.escape(text, quote=True)


def plain(raw: str) -> str:
    """Raw document text as HTML: markup removed, blank-line runs squeezed (CSS keeps newlines), escaped."""
    return escape(_BLANK_LINES.sub("\n\n", clean_markup(raw).text))


def flowed(raw: str) -> str:
    """Like ``plain``, with the file's line breaks gone: each paragraph one run of single spaces.

    A file's ragged line ends say nothing about the text; blank lines (paragraphs) stay.
    """
    paragraphs = _PARAGRAPH_BREAK.split(clean_markup(raw).text)
    return escape("\n\n".join(_SPACES.sub(" ", paragraph) for paragraph in paragraphs))


def question_html(question: str) -> str:
    return f'<div class="rag-text">{escape(question)}</div>'


def header_html(info: IndexInfo) -> str:
    """The page title and what the index holds (``Index.info()``)."""
    meta = f"{count(info.documents, 'document')} · {count(info.chunks, 'chunk')} · model {info.model}"
    return f'<div class="rag-header"><h1>Ask the documents</h1><div class="rag-meta">{escape(meta)}</div></div>'


def error_html(message: str) -> str:
    return f'<div class="rag-error">{escape(message)}</div>'


def answer_html(answer: Answer, turn: int | None = None) -> str:
    """One chat bubble: the answer with ``[n]`` markers, or a distinct "Not in the documents" note.

    ``turn`` numbers the answer in its conversation (a class, as the chat drops other attributes):
    a click on its ``[n]`` opens source n of this answer, not of the latest one.
    """
    bubble = _bubble(answer)
    return bubble if turn is None else f'<div class="rag-turn-{turn}">{bubble}</div>'


def _bubble(answer: Answer) -> str:
    parts = []
    if answer.notice:
        parts.append(f'<div class="rag-notice">⚠ {escape(answer.notice)}</div>')
    if answer.abstained:
        parts.append('<div class="rag-abstain"><div class="rag-abstain-title">Not in the documents</div>')
        parts.append(f'<div class="rag-text">{escape(answer.text)}</div>')
        places: dict[str, list[str]] = {}  # one line per document, however many of its passages came close
        for passage in answer.related:
            places.setdefault(passage.title, []).append(place(passage))
        if places:
            items = "".join(f"<li>{escape(title)} ({escape('; '.join(where))})</li>" for title, where in places.items())
            parts.append(f"<div>Possibly related, not cited:<ul>{items}</ul></div>")
        parts.append("</div>")
        return "".join(parts)
    text = MARKER.sub(lambda match: f'<sup class="rag-cite">[{match.group(1)}]</sup>', escape(answer.text))
    short, dash, _ = answer.text.partition(" — ")
    if dash and any(citation.answer_start is not None for citation in answer.citations):
        text = f'<span class="rag-short">{escape(short)}</span>' + text[len(escape(short)):]
    parts.append(f'<div class="rag-text">{text}</div>')
    if answer.passages and not answer.partial:  # a streaming LLM's numbers change at the end
        listed = "; ".join(f'<span class="rag-cite-ref">[{number}] {escape(passage.title)}</span>'
                           for number, passage in enumerate(answer.passages, 1))
        parts.append(f'<div class="rag-cited">{listed}</div>')
    return "".join(parts)


def highlight(text: str, spans: Iterable[tuple[int, int]], answers: Iterable[tuple[int, int]] = (),
              anchors: Iterable[tuple[int, int]] = (), flow: bool = False) -> str:
    """``text`` escaped, with each ``(start, end)`` span (offsets into ``text``) inside ``<mark>``, and each
    short-answer span inside ``<strong class="rag-answer">`` within it.

    Spans are clipped to the text and merged where they overlap, so offsets from another
    layer of the pipeline can never break the markup. Each ``(offset, n)`` of ``anchors`` puts an
    empty ``<span class="rag-anchor-n">`` there, for a script to find marker n's evidence; ``flow``
    shows the text ``flowed`` rather than ``plain``.
    """
    marks, strong, anchors = _merged(text, spans), _merged(text, answers), list(anchors)
    places = {offset: [n for at, n in anchors if at == offset] for offset, _ in anchors if 0 <= offset < len(text)}
    bounds = sorted({0, len(text), *places, *(edge for span in marks + strong for edge in span)})
    pieces = []
    for start, end in zip(bounds, bounds[1:]):
        piece = (flowed if flow else plain)(text[start:end])
        if any(low <= start and end <= high for low, high in strong):
            piece = f'<strong class="rag-answer">{piece}</strong>'
        if any(low <= start and end <= high for low, high in marks):
            piece = f'<mark class="rag-evidence">{piece}</mark>'
        pieces.append("".join(f'<span class="rag-anchor-{n}"></span>' for n in places.get(start, ())) + piece)
    return "".join(pieces).replace('</mark><mark class="rag-evidence">', "")


def _merged(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted((max(0, start), min(len(text), end)) for start, end in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def evidence_spans(passage: Passage, citations: Iterable[Citation]) -> list[tuple[int, int]]:
    """The citations' file offsets made relative to the passage (``passage.text[start:end]``)."""
    return [(citation.start - passage.start, citation.end - passage.start) for citation in citations]


def answer_spans(passage: Passage, citations: Iterable[Citation]) -> list[tuple[int, int]]:
    """The short answers' file offsets made relative to the passage."""
    return [(citation.answer_start - passage.start, citation.answer_end - passage.start) for citation in citations
            if citation.answer_start is not None and citation.answer_end is not None]


def context_window(document: str, passage: Passage, radius: int = CONTEXT_CHARS) -> tuple[int, int]:
    """Offsets of a window around the passage, widened to whole lines unless a line is very long."""
    start = max(0, passage.start - radius)
    line_start = document.rfind("\n", 0, start) + 1
    if start - line_start < radius:
        start = line_start
    end = min(len(document), passage.end + radius)
    line_end = document.find("\n", end)
    if line_end != -1 and line_end - end < radius:
        end = line_end
    return start, end


def context_html(document: str, passage: Passage, citations: Sequence[Citation] = (),
                 radius: int = CONTEXT_CHARS) -> str:
    """The passage inside its document: a window of the file with the passage and its evidence marked."""
    start, end = context_window(document, passage, radius)
    inside = highlight(document[passage.start : passage.end], evidence_spans(passage, citations),
                       answer_spans(passage, citations))
    return (("…" if start > 0 else "") + plain(document[start : passage.start])
            + f'<span class="rag-in-passage">{inside}</span>'
            + plain(document[passage.end : end]) + ("…" if end < len(document) else ""))


def source_html(passage: Passage, label: str, citations: Sequence[Citation] = (),
                document: str | None = None, markers: Sequence[int] = (), opened: bool = True) -> str:
    """One source card, a ``<details>`` (open unless ``opened`` is False): title, section, date, page, file,
    lines, score, the passage with its evidence, and the passage in its document.

    ``label`` is its markers (``[1]``, ``[1] [3]``); an empty one makes a "possibly related" card,
    drawn dashed. ``markers`` name the card (``rag-for-n``) and anchor each one's evidence.
    """
    meta = " · ".join(part for part in (passage.date, place(passage), f"score {passage.score:.3f}") if part)
    number = f'<span class="rag-num">{escape(label)}</span>' if label else ""
    classes = "rag-source" + ("" if label else " rag-related") + "".join(f" rag-for-{n}" for n in markers)
    shown = _trimmed(passage)
    anchors = [(citation.start - shown.start, citation.marker) for citation in citations]
    text = highlight(shown.text, evidence_spans(shown, citations), answer_spans(shown, citations), anchors, True)
    card = [
        f'<details class="{classes}"{" open" if opened else ""}>',
        f'<summary class="rag-source-head">{number}{escape(passage.title)}</summary>',
        f'<div class="rag-section">{escape(passage.section)}</div>' if passage.section else "",
        f'<div class="rag-meta">{escape(meta)}</div>',
        f'<div class="rag-passage">{text}</div>',
    ]
    if document is not None:
        card.append('<details class="rag-context"><summary>Show in document</summary>'
                    f'<div class="rag-context-text">{context_html(document, passage, citations)}</div></details>')
    card.append("</details>")
    return "".join(card)


def _trimmed(passage: Passage) -> Passage:
    """The passage without the blank lines it starts or ends with; its offsets move with its text."""
    text = passage.text
    lead, trail = len(text) - len(text.lstrip()), len(text) - len(text.rstrip())
    if not text.strip() or not lead and not trail:
        return passage
    return replace(passage, text=text.strip(), start=passage.start + lead, end=passage.end - trail)


def sources_html(answer: Answer | None, document_text: Callable[[str], str | None] = lambda doc_id: None,
                 turn: int | None = None) -> str:
    """The sources panel for an answer (the ``turn``-th of its conversation): its cited passages, or for an
    abstention the related ones. Overlapping passages of a document share one card; the first card is open."""
    if answer is None:
        return ('<div class="rag-sources"><h3>Sources</h3>'
                '<p class="rag-empty">Ask a question: the passages the answer cites appear here.</p></div>')
    if answer.abstained:
        cards = [source_html(passage, "", document=document_text(passage.doc_id), opened=first == 0)
                 for first, (passage, _) in enumerate(merge_passages(answer.related))]
        hint = "Nothing here answers the question; these passages came closest."
        return _panel("Possibly related (not cited)", hint if cards else "No passage matched the question.", cards, turn)
    cards = [
        source_html(passage, " ".join(f"[{n}]" for n in numbers), [c for c in answer.citations if c.marker in numbers],
                    document_text(passage.doc_id), numbers, opened=numbers[0] == 1)
        for passage, numbers in merge_passages(answer.passages)
    ]
    hint = "Click [n] in the answer to open its source." if len(cards) > 1 else "The evidence sentence is highlighted."
    return _panel("Sources", hint if cards else "The answer cites no passage.", cards, turn)


def _panel(heading: str, hint: str, cards: list[str], turn: int | None) -> str:
    number = "" if turn is None else f' data-turn="{turn}"'
    return (f'<div class="rag-sources"{number}><h3>{escape(heading)}</h3><p class="rag-hint">{escape(hint)}</p>'
            + "".join(cards) + "</div>")


def place(passage: Passage) -> str:
    """Where a passage stands: ``file, page 3, lines 40–52`` (the page only for paged formats)."""
    lines = (f"line {passage.line_start}" if passage.line_start == passage.line_end
             else f"lines {passage.line_start}–{passage.line_end}")
    page = f"page {passage.page}, " if passage.page is not None else ""
    return f"{passage.source}, {page}{lines}"


def status_html(message: str, ok: bool = True) -> str:
    return f'<div class="rag-text {"rag-status-ok" if ok else "rag-status-error"}">{escape(message)}</div>'


def passage_record(passage: Passage, citations: Iterable[Citation] = ()) -> dict[str, Any]:
    """A passage as JSON for the API, with the evidence sentences cited in it."""
    return {**asdict(passage), "evidence": [citation.text for citation in citations]}


def answer_record(answer: Answer) -> dict[str, Any]:
    """An answer as JSON for the API.

    Example::

        {"question": "Who ...?", "text": "Jo Yong Won ... made an opening address. [1]", "abstained": False,
         "grounded": True, "notice": None, "sources": [{"rank": 4, "title": "...", "evidence": ["..."], ...}],
         "related": []}
    """
    return {
        "question": answer.question,
        "text": answer.text,
        "abstained": answer.abstained,
        "grounded": answer.grounded,
        "notice": answer.notice,
        "sources": [passage_record(passage, [c for c in answer.citations if c.marker == number])
                    for number, passage in enumerate(answer.passages, 1)],
        "related": [passage_record(passage) for passage in answer.related],
    }
