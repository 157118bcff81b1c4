"""One document out of an index: its chunks, vectors and terms, and its file when it was uploaded.

The next generation is built by the store's ``Writer`` under the write lock, like an ingest, so a
crash leaves the index as it was. A document from the ingested folder stays in that folder: the
next folder ingest adds it back, which is why the caller is told where it came from.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .config import Settings
from .errors import IndexNotFoundError, InvalidQueryError
from .store.backend import open_backend
from .store.base import committed
from .types import DocumentInfo
from .uploads import UPLOADS

log = logging.getLogger(__name__)


def is_upload(doc_id: str) -> bool:
    """True for a document that was uploaded (it lives in ``<index>/uploads``), False for one from the folder."""
    return doc_id.startswith(UPLOADS)


def delete_document(settings: Settings, doc_id: str) -> DocumentInfo:
    """Remove ``doc_id`` from the index ``settings`` name (and its file, if uploaded); returns what it was.

    An unknown ``doc_id``, or the index's last document, is an ``InvalidQueryError`` whose message
    says what to do.
    """
    index_dir = settings.index_path  # where uploaded files are kept, with any backend
    backend = open_backend(settings)
    with backend.lock():
        previous = backend.previous()
        if previous is None:
            raise IndexNotFoundError(f"No index in {backend.location}: run `rag ingest DIR` first.")
        store = backend.reader(previous)  # also refuses a damaged index before writing the next one
        try:
            found = next((document for document in store.documents() if document.doc_id == doc_id), None)
        finally:
            store.close()
        if found is None:
            raise InvalidQueryError(f"No document {doc_id!r} in the index at {backend.location}: "
                                    "use a doc_id that the document list shows.")
        if len(previous.files) == 1:
            raise InvalidQueryError(f"{doc_id} is the only document in the index at {backend.location}: add another "
                                    "before deleting it, or delete the index folder to start over.")
        with committed(backend.writer(previous, previous.settings, previous.dimension)) as writer:
            writer.remove(doc_id)
        if is_upload(doc_id):
            _remove_upload(index_dir, doc_id)
    log.info("deleted %s (%d chunks) from %s", doc_id, found.n_chunks, index_dir)
    return found


def _remove_upload(index_dir: Path, doc_id: str) -> None:
    """Delete the uploaded file itself, never anything outside ``<index>/uploads``."""
    uploads = (index_dir / UPLOADS).resolve()
    path = (index_dir / doc_id).resolve()
    if path.parent == uploads:
        path.unlink(missing_ok=True)
