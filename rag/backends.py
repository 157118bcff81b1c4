"""Which code turns texts into vectors: the ``backend`` setting, recorded with every index.

``onnx-int8`` (the default) and ``onnx`` run an ONNX export of the model with onnxruntime, so
searching never imports torch; ``torch`` runs sentence-transformers itself. The three give
nearly the same vectors but not the same ones, so an index is searched with the backend that built it.
"""

from __future__ import annotations

from .config import BACKENDS, Settings
from .embedding import Embedder, SentenceTransformerEmbedder
from .errors import InvalidQueryError


def make_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings`` ask for; heavy libraries load at its first ``embed``."""
    if settings.backend == "torch":
        return SentenceTransformerEmbedder(settings.model, settings.batch_size)
    if settings.backend in ("onnx", "onnx-int8"):
        from .onnx_embedding import OnnxEmbedder

        return OnnxEmbedder(settings.model, "int8" if settings.backend == "onnx-int8" else "fp32")
    raise InvalidQueryError(f"Unknown embedding backend {settings.backend!r}; set RAG_BACKEND to one of "
                            f"{', '.join(BACKENDS)}.")
