"""The front door: an opened index that searches, answers and takes new documents.

    index = rag.build_index("seeds", ".rag/index")
    index.search("Who opened the first course?", k=3)
    # [Passage(text="The respected Comrade **Kim Jong Un** made an opening address.", score=0.91, rank=1,
    #          source="001_b8239f67380c7682.txt", ...), ...]

It composes the parts and owns none of their rules: the store (``rag.store``), ranking
(``rag.retriever``), ingest and uploads (``rag.ingest``, ``rag.uploads``), answers (``rag.answer``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .answer import answer_stream, rerank_passages, warm
from .backends import make_embedder
from .config import LEGACY_DENSE_UNIT, RERANKERS, Settings, load_settings
from .embed_cache import CachedEmbedder
from .embedding import Embedder, for_documents
from .errors import IndexMismatchError, InvalidQueryError
from .ingest import IngestReport, ingest
from .retriever import Retriever
from .store import REBUILD_HINT
from .store.backend import built_with as settings_that_built
from .store.backend import open_backend
from .store.base import Reader
from .types import Answer, DocumentInfo, IndexInfo, Passage
from .uploads import store_uploads

if TYPE_CHECKING:
    import numpy as np


class Index:
    """A persisted index opened for search; thread-safe, reloadable after an ingest."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = CachedEmbedder(embedder or make_embedder(settings))
        self._documents = for_documents(self.embedder.inner)  # uploads never hold up questions
        self.last_ingest: IngestReport | None = None
        self._live = open_backend(settings).live(self._adopt)

    @property
    def path(self) -> Path:
        return self.settings.index_path

    @property
    def location(self) -> str:
        """Where the index lives: its folder, or its PostgreSQL URL without the password."""
        return open_backend(self.settings).location

    @property
    def store(self) -> Reader:
        return self._live.current()

    def _adopt(self, stored: dict[str, Any]) -> None:
        """Refuse an index built with another model or backend; take its chunking and dense unit as this index's."""
        for name in ("model", "backend"):
            if stored[name] != getattr(self.settings, name):
                raise IndexMismatchError(
                    f"The index at {self.location} was built with {name} {stored[name]!r}, not "
                    f"{getattr(self.settings, name)!r}; {REBUILD_HINT}, or unset RAG_{name.upper()}.")
        self.settings = replace(self.settings, chunk_size=stored["chunk_size"], chunk_overlap=stored["chunk_overlap"],
                                dense_unit=stored.get("dense_unit", LEGACY_DENSE_UNIT))

    def reload(self) -> None:
        """Open the current generation (after an ingest by this or another process)."""
        self._live.reload()

    def ingest(self, folder: str | Path, rebuild: bool = False, progress: bool = False,
               paths: Sequence[Path] | None = None) -> IngestReport:
        """Update this index from ``folder`` (or only ``paths`` inside it), then reload it."""
        report = ingest(Path(folder), self.settings, self._documents, rebuild=rebuild, progress=progress,
                        paths=list(paths) if paths is not None else None)
        self.last_ingest = report
        if report.changed:
            self.reload()
        return report

    def add_files(self, files: Sequence[str | Path]) -> IngestReport:
        """Copy uploaded files into ``<index>/uploads`` and index them beside the existing documents."""
        return self.ingest(self.path, paths=store_uploads(files, self.path, self.settings.max_file_bytes))

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None, rerank: bool = True) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first, ranks from 1 (see ``Retriever.search``).

        In hybrid mode the answerer then reorders the first ten (``rag.answer.rerank``, setting ``rerank``);
        ``dense`` and ``bm25`` are the bare retrievers, for comparison."""
        if self.settings.rerank not in RERANKERS:
            raise InvalidQueryError(f"RAG_RERANK={self.settings.rerank!r} is not one of {', '.join(RERANKERS)}.")
        passages = Retriever(self.store, self.embedder, self.settings).search(question, k, mode, sources)
        if rerank and self.settings.rerank == "answerer" and (mode or self.settings.mode) == "hybrid":
            return rerank_passages(self, question.strip(), passages)
        return passages

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts`` with the index's model (recent texts come from a cache)."""
        return self.embedder.embed(texts)

    def warm(self) -> None:
        """Load the embedding model and the answerer's models now, so the first answer is as fast as the tenth."""
        self.embed(["warm up"])
        warm()

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term over the indexed chunks."""
        return self.store.idf(terms)

    def raw_span(self, passage: Passage, clean_start: int, clean_end: int) -> tuple[int, int]:
        """File offsets of ``passage.clean_text[clean_start:clean_end]`` (the whole passage if it changed since)."""
        return self.store.raw_span(passage, clean_start, clean_end) or (passage.start, passage.end)

    def ask(self, question: str, k: int = 5, mode: str | None = None, history: Sequence[str] = ()) -> Answer:
        """A short answer citing the passages it comes from, or an abstention.

        ``history`` holds the previous questions of a conversation, most recent last.
        """
        *_, final = self.ask_stream(question, k=k, mode=mode, history=history)
        return final

    def ask_stream(self, question: str, k: int = 5, mode: str | None = None,
                   history: Sequence[str] = ()) -> Iterator[Answer]:
        """Like ``ask``, yielding the answer as it grows (an LLM streams it); the last one is final."""
        return answer_stream(self, question, k=k, mode=mode, history=history)

    def documents(self) -> list[DocumentInfo]:
        """Title, date, chunk count, encoding and size of every indexed document."""
        return self.store.documents()

    def document_text(self, doc_id: str) -> str | None:
        return self.store.document_text(doc_id)

    def info(self) -> IndexInfo:
        store = self.store
        built = store.settings
        return IndexInfo(index=str(self.path), documents=store.document_count, chunks=store.chunk_count,
                         model=built["model"], backend=built["backend"], dimension=store.dimension,
                         chunk_size=built["chunk_size"], chunk_overlap=built["chunk_overlap"],
                         bytes_on_disk=store.size_on_disk(), updated=store.updated, store=store.location)

    def delete_document(self, doc_id: str) -> DocumentInfo:
        """Remove one document, and its file when it was uploaded, then reload; returns what was removed.

        A document of the ingested folder comes back at the next ingest of that folder unless its
        file goes too. An unknown ``doc_id`` is an ``InvalidQueryError``.
        """
        from .delete import delete_document

        removed = delete_document(self.settings, doc_id)
        self.reload()
        return removed


def load_index(index_dir: str | Path | None = None, settings: Settings | None = None,
               embedder: Embedder | None = None) -> Index:
    """Open an existing index; the model and backend it was built with are used unless ``RAG_MODEL`` or
    ``RAG_BACKEND`` say otherwise."""
    settings = settings or load_settings()
    settings = replace(settings, index_dir=str(index_dir if index_dir is not None else settings.index_path))
    stored = settings_that_built(settings)
    built_with = {name: getattr(settings, name) if getattr(settings, name) != getattr(Settings(), name) else stored[name]
                  for name in ("model", "backend")}
    return Index(replace(settings, **built_with), embedder)


def build_index(folder: str | Path = "seeds", index_dir: str | Path | None = None, settings: Settings | None = None,
                embedder: Embedder | None = None, rebuild: bool = False, progress: bool = False) -> Index:
    """Build the index for ``folder``, or update it incrementally, and return it opened."""
    settings = settings or load_settings()
    if index_dir is not None:
        settings = replace(settings, index_dir=str(index_dir))
    embedder = embedder or make_embedder(settings)
    report = ingest(Path(folder), settings, embedder, rebuild=rebuild, progress=progress)
    index = Index(settings, embedder)
    index.last_ingest = report
    return index
