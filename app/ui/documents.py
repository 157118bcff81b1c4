"""The Documents tab's words and rows: the catalogue, upload reports and deletions, in plain sentences.

No gradio here: ``app.ui.app`` puts these into components, tests read them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, Literal

from rag import DocumentInfo, IngestReport
from rag.delete import is_upload
from rag.words import count

DOCUMENT_HEADERS = ["Title", "Date", "Sections", "Chunks", "Source", "File"]
DOCUMENT_TYPES: list[Literal["str", "number"]] = ["str", "str", "number", "number", "str", "str"]
COLUMN_WIDTHS: list[str | int] = ["43%", "11%", "9%", "8%", "8%", "21%"]


def source_of(doc_id: str) -> str:
    """``"upload"`` for a document added through the UI, ``"folder"`` for one from the ingested folder."""
    return "upload" if is_upload(doc_id) else "folder"


def document_rows(documents: Iterable[DocumentInfo]) -> list[list[Any]]:
    """Rows for the Documents table, in ``DOCUMENT_HEADERS`` order."""
    return [[document.title, document.date or "", document.n_sections, document.n_chunks, source_of(document.doc_id),
             document.doc_id] for document in documents]


def document_record(document: DocumentInfo) -> dict[str, Any]:
    """A document as JSON for the API: ``doc_id``, title, date, n_chunks, n_sections, ..., and its source.

    Example::

        {"doc_id": "uploads/notes.md", "title": "Notes", "date": None, "n_chunks": 3, "encoding": "utf-8",
         "n_chars": 2811, "n_sections": 2, "source": "upload"}
    """
    return {**asdict(document), "source": source_of(document.doc_id)}


def document_choices(documents: Iterable[DocumentInfo]) -> list[tuple[str, str]]:
    """``(label, doc_id)`` pairs for the list of documents to delete."""
    return [(f"{document.title} ({document.doc_id})", document.doc_id) for document in documents]


def upload_summary(report: IngestReport) -> str:
    """What an upload did, one line per problem: ``1 added, 0 updated, 0 unchanged; 1 chunk embedded in 0.4 s.``"""
    lines = [f"{report.summary(removals=False)}."]
    lines += [f"Skipped {name}: {reason}" for name, reason in report.skipped.items()]
    lines += [f"{name} has the same content as {original}." for name, original in report.duplicates.items()]
    return "\n".join(lines)


def deleted_message(document: DocumentInfo) -> str:
    """What a deletion did; for a document of the ingested folder, that the next ingest brings it back."""
    what = f"Deleted {document.title} ({document.doc_id}, {count(document.n_chunks, 'chunk')})"
    if is_upload(document.doc_id):
        return f"{what} and its uploaded file."
    return (f"{what} from the index. It came from the ingested folder: the next `rag ingest` of that folder "
            "adds it back unless you delete its file there.")
