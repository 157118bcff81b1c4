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
from typing import TYPE_CHECKING

from .answer import answer_stream, warm
from .config import Settings, load_settings
from .embed_cache import CachedEmbedder
from .embedding import Embedder, SentenceTransformerEmbedder, for_documents
from .errors import IndexMismatchError
from .ingest import IngestReport, ingest
from .retriever import Retriever
from .store import REBUILD_HINT, Manifest, Store, read_manifest
from .store.live import LiveStore
from .types import Answer, DocumentInfo, IndexInfo, Passage
from .uploads import store_uploads

if TYPE_CHECKING:
    import numpy as np


class Index:
    """A persisted index opened for search; thread-safe, reloadable after an ingest."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = CachedEmbedder(embedder or SentenceTransformerEmbedder(settings.model, settings.batch_size))
        self._documents = for_documents(self.embedder.inner)  # uploads never hold up questions
        self.last_ingest: IngestReport | None = None
        self._live = LiveStore(settings.index_path, self._adopt)

    @property
    def path(self) -> Path:
        return self.settings.index_path

    @property
    def store(self) -> Store:
        return self._live.current()

    def _adopt(self, manifest: Manifest) -> None:
        """Refuse an index built with another model; take its chunking as this index's settings."""
        stored = manifest.settings
        if stored["model"] != self.settings.model:
            raise IndexMismatchError(
                f"The index at {self.path} was built with model {stored['model']!r}, not {self.settings.model!r}; "
                f"{REBUILD_HINT}, or unset RAG_MODEL.")
        self.settings = replace(self.settings, chunk_size=stored["chunk_size"], chunk_overlap=stored["chunk_overlap"])

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
               sources: Sequence[str] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first, ranks from 1 (see ``Retriever.search``)."""
        return Retriever(self.store, self.embedder, self.settings).search(question, k, mode, sources)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts`` with the index's model (recent texts come from a cache)."""
        return self.embedder.embed(texts)

    def warm(self) -> None:
        """Load the embedding model and the answerer's models now, so the first answer is as fast as the tenth."""
        self.embed(["warm up"])
        warm()

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term over the indexed chunks."""
        return self.store.lexical.idf(terms)

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
        manifest = store.manifest
        return IndexInfo(index=str(self.path), documents=len(manifest.files), chunks=manifest.chunk_count,
                         model=manifest.settings["model"], dimension=manifest.dimension,
                         chunk_size=manifest.settings["chunk_size"], chunk_overlap=manifest.settings["chunk_overlap"],
                         bytes_on_disk=store.size_on_disk(), updated=manifest.updated)


def load_index(index_dir: str | Path | None = None, settings: Settings | None = None,
               embedder: Embedder | None = None) -> Index:
    """Open an existing index; the model it was built with is used unless ``RAG_MODEL`` says otherwise."""
    settings = settings or load_settings()
    path = Path(index_dir) if index_dir is not None else settings.index_path
    manifest = read_manifest(path)
    model = settings.model if settings.model != Settings().model else manifest.settings["model"]
    return Index(replace(settings, index_dir=str(path), model=model), embedder)


def build_index(folder: str | Path = "seeds", index_dir: str | Path | None = None, settings: Settings | None = None,
                embedder: Embedder | None = None, rebuild: bool = False, progress: bool = False) -> Index:
    """Build the index for ``folder``, or update it incrementally, and return it opened."""
    settings = settings or load_settings()
    if index_dir is not None:
        settings = replace(settings, index_dir=str(index_dir))
    embedder = embedder or SentenceTransformerEmbedder(settings.model, settings.batch_size)
    report = ingest(Path(folder), settings, embedder, rebuild=rebuild, progress=progress)
    index = Index(settings, embedder)
    index.last_ingest = report
    return index
