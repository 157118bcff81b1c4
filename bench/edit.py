"""Re-ingest after editing one paragraph of a long text file (about 200 pages), against that file's
full ingest: vectors are reused by chunk text, so only the chunks whose text changed are embedded.

Both ingests run in this process with the model already loaded, so the ratio compares work, not
start-up; each reports how many chunks it embedded.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .corpus import edit_paragraph, long_document
from .ingest import profiled_ingest, timed

log = logging.getLogger(__name__)


def one_paragraph(squad: Path, work: Path, pages: int = 200, page_chars: int = 3000) -> dict[str, Any]:
    """Full ingest of the long file, then a re-ingest after one edit (timed), then another (profiled)."""
    import rag
    from rag.backends import make_embedder
    from rag.config import load_settings

    path = long_document(squad, work / "long", pages, page_chars)
    index_dir = work / "index-long"
    embedder = make_embedder(load_settings())
    embedder.embed(["warm up"] * 8)
    log.info("full ingest of one %d-character file", path.stat().st_size)
    index, full = timed(rag.build_index, path.parent, index_dir, embedder=embedder, rebuild=True)
    assert index.last_ingest is not None
    full_embedded = index.last_ingest.chunks_embedded
    edit_paragraph(path, 1)
    log.info("re-ingest after editing one paragraph")
    index, edited = timed(rag.build_index, path.parent, index_dir, embedder=embedder)
    assert index.last_ingest is not None and index.last_ingest.updated, "the edited file was not re-ingested"
    edited_embedded = index.last_ingest.chunks_embedded
    edit_paragraph(path, 2)
    profile, profiled = profiled_ingest(path.parent, index_dir, embedder)
    return {
        "characters": len(path.read_text(encoding="utf-8")), "pages": pages, "page_chars": page_chars,
        "chunks": index.info().chunks, "full_s": full, "full_embedded": full_embedded,
        "edited_s": edited, "edited_embedded": edited_embedded, "edited_over_full": edited / full,
        "profiled_s": profiled, "profile": profile,
    }
