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
from dataclasses import asdict
from typing import Any

from rag import Answer, Citation, DocumentInfo, IndexInfo, Passage
from rag.markers import MARKER
from rag.markup import clean_markup

CONTEXT_CHARS = 600  # characters of the document shown on each side of a passage
_BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)+")

CSS = """
.rag-text, .rag-passage, .rag-context-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.rag-cite { font-weight: 600; color: var(--color-accent); margin-left: 1px; }
.rag-cited { margin-top: .5em; font-size: .85em; opacity: .75; }
.rag-abstain { border-left: 4px solid #d97706; background: rgba(217, 119, 6, .08); padding: .5em .75em;
  border-radius: 4px; }
.rag-abstain-title { font-weight: 700; color: #b45309; margin-bottom: .25em; }
.rag-abstain ul { margin: .25em 0 0 1.2em; padding: 0; }
.rag-notice { border-left: 4px solid #dc2626; background: rgba(220, 38, 38, .08); padding: .35em .75em;
  margin-bottom: .5em; border-radius: 4px; font-size: .9em; }
.rag-error { color: #b91c1c; font-weight: 600; }
.rag-sources h3 { margin: 0 0 .5em 0; font-size: 1.05em; }
.rag-sources .rag-empty, .rag-sources .rag-hint { opacity: .7; font-size: .9em; margin: 0 0 .5em 0; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6em .8em;
  margin-bottom: .75em; background: var(--block-background-fill); }
.rag-related { border-style: dashed; }
.rag-source-head { font-weight: 600; }
.rag-num { color: var(--color-accent); margin-right: .3em; }
.rag-meta { font-size: .8em; opacity: .75; margin: .15em 0 .4em 0; }
.rag-passage { font-size: .9em; line-height: 1.45; max-height: 16em; overflow-y: auto; }
mark.rag-evidence { background: #fde68a; color: #111827; padding: 0 1px; border-radius: 2px; }
strong.rag-answer { background: #fbbf24; border-radius: 2px; }
.rag-short { font-weight: 700; }
.rag-context summary { cursor: pointer; font-size: .85em; color: var(--color-accent); margin-top: .4em; }
.rag-context-text { position: relative; font-size: .85em; line-height: 1.45; max-height: 22em; overflow-y: auto;
  margin-top: .4em; padding: .5em; border-radius: 6px; background: var(--background-fill-secondary); }
.rag-in-passage { background: rgba(59, 130, 246, .12); }
.rag-status-ok { color: #15803d; } .rag-status-error { color: #b91c1c; font-weight: 600; }
.rag-header h1 { font-size: 1.5em; margin: 0; } .rag-header .rag-meta { margin: .2em 0 0 0; }
"""


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def plain(raw: str) -> str:
    """Raw document text as HTML: markup removed, blank-line runs squeezed (CSS keeps newlines), escaped."""
    return escape(_BLANK_LINES.sub("\n\n", clean_markup(raw).text))


def question_html(question: str) -> str:
    return f'<div class="rag-text">{escape(question)}</div>'


def header_html(info: IndexInfo) -> str:
    """The page title and what the index holds (``Index.info()``)."""
    meta = f"{info.documents} documents · {info.chunks} chunks · model {info.model}"
    return f'<div class="rag-header"><h1>Ask the documents</h1><div class="rag-meta">{escape(meta)}</div></div>'


def error_html(message: str) -> str:
    return f'<div class="rag-error">{escape(message)}</div>'


def answer_html(answer: Answer) -> str:
    """One chat bubble: the answer with ``[n]`` markers, or a distinct "Not in the documents" note."""
    parts = []
    if answer.notice:
        parts.append(f'<div class="rag-notice">⚠ {escape(answer.notice)}</div>')
    if answer.abstained:
        parts.append('<div class="rag-abstain"><div class="rag-abstain-title">Not in the documents</div>')
        parts.append(f'<div class="rag-text">{escape(answer.text)}</div>')
        places: dict[str, list[str]] = {}  # one line per document, however many of its passages came close
        for passage in answer.related:
            places.setdefault(passage.title, []).append(_place(passage))
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
        listed = "; ".join(f"[{number}] {escape(passage.title)}" for number, passage in enumerate(answer.passages, 1))
        parts.append(f'<div class="rag-cited">{listed}</div>')
    return "".join(parts)


def highlight(text: str, spans: Iterable[tuple[int, int]], answers: Iterable[tuple[int, int]] = ()) -> str:
    """``text`` escaped, with each ``(start, end)`` span (offsets into ``text``) inside ``<mark>``, and each
    short-answer span inside ``<strong class="rag-answer">`` within it.

    Spans are clipped to the text and merged where they overlap, so offsets from another
    layer of the pipeline can never break the markup.
    """
    marks, strong = _merged(text, spans), _merged(text, answers)
    bounds = sorted({0, len(text), *(edge for span in marks + strong for edge in span)})
    pieces = []
    for start, end in zip(bounds, bounds[1:]):
        piece = plain(text[start:end])
        if any(low <= start and end <= high for low, high in strong):
            piece = f'<strong class="rag-answer">{piece}</strong>'
        if any(low <= start and end <= high for low, high in marks):
            piece = f'<mark class="rag-evidence">{piece}</mark>'
        pieces.append(piece)
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
                document: str | None = None) -> str:
    """One source card: title, date, file, lines, score, the passage with its evidence, and its context.

    ``label`` is the marker (``[1]``); an empty one makes a "possibly related" card, drawn dashed.
    """
    meta = " · ".join(part for part in (passage.date, _place(passage), f"score {passage.score:.3f}") if part)
    number = f'<span class="rag-num">{escape(label)}</span>' if label else ""
    card = [
        f'<div class="rag-source{"" if label else " rag-related"}">',
        f'<div class="rag-source-head">{number}{escape(passage.title)}</div>',
        f'<div class="rag-meta">{escape(meta)}</div>',
        '<div class="rag-passage">'
        f"{highlight(passage.text, evidence_spans(passage, citations), answer_spans(passage, citations))}</div>",
    ]
    if document is not None:
        card.append('<details class="rag-context"><summary>Show in document</summary>'
                    f'<div class="rag-context-text">{context_html(document, passage, citations)}</div></details>')
    card.append("</div>")
    return "".join(card)


def sources_html(answer: Answer | None, document_text: Callable[[str], str | None] = lambda doc_id: None) -> str:
    """The sources panel for an answer: its cited passages, or for an abstention the related ones."""
    if answer is None:
        return ('<div class="rag-sources"><h3>Sources</h3>'
                '<p class="rag-empty">Ask a question: the passages the answer cites appear here.</p></div>')
    if answer.abstained:
        cards = [source_html(passage, "", document=document_text(passage.doc_id)) for passage in answer.related]
        hint = "Nothing here answers the question; these passages came closest."
        return _panel("Possibly related (not cited)", hint if cards else "No passage matched the question.", cards)
    cards = [
        source_html(passage, f"[{number}]", [c for c in answer.citations if c.marker == number],
                    document_text(passage.doc_id))
        for number, passage in enumerate(answer.passages, 1)
    ]
    hint = "The evidence sentence is highlighted." if cards else "The answer cites no passage."
    return _panel("Sources", hint, cards)


def _panel(heading: str, hint: str, cards: list[str]) -> str:
    return (f'<div class="rag-sources"><h3>{escape(heading)}</h3><p class="rag-hint">{escape(hint)}</p>'
            + "".join(cards) + "</div>")


def _place(passage: Passage) -> str:
    lines = (f"line {passage.line_start}" if passage.line_start == passage.line_end
             else f"lines {passage.line_start}–{passage.line_end}")
    return f"{passage.source}, {lines}"


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


def document_rows(documents: Iterable[DocumentInfo]) -> list[list[Any]]:
    """Rows for the Documents table: title, date, file, chunks."""
    return [[document.title, document.date or "", document.doc_id, document.n_chunks] for document in documents]
