"""Recent vectors kept around any ``Embedder``: questions and evidence sentences are not embedded twice.

The eval asks each question in every mode, and the answerer embeds the same candidate
sentences for follow-ups; ``pinned`` embeds a known batch up front (one batched call instead
of one call per question) and keeps it until the block ends, whatever the LRU evicts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .embedding import Embedder

if TYPE_CHECKING:
    import numpy as np

CACHE_SIZE = 8192  # about 12 MB of 384-d vectors


class EmbedderWrapper:
    """An ``Embedder`` around another one: the same model, so the same name and dimension."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dimension(self) -> int:
        return self.inner.dimension


class CachedEmbedder(EmbedderWrapper):
    """An ``Embedder`` that remembers the last ``size`` texts it embedded; thread-safe."""

    def __init__(self, inner: Embedder, size: int = CACHE_SIZE) -> None:
        super().__init__(inner)
        self.size = size
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._pinned: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Vectors of ``texts``, one row each; only texts not seen recently reach the model."""
        import numpy as np

        with self._lock:
            missing = list(dict.fromkeys(text for text in texts if self._get(text) is None))
        if missing:
            vectors = self.inner.embed(missing, progress=progress)
            with self._lock:
                self._recent.update(zip(missing, vectors))
                while len(self._recent) > self.size:
                    self._recent.popitem(last=False)
        with self._lock:
            found = [vector for text in texts if (vector := self._get(text)) is not None]
        if len(found) < len(texts):  # evicted meanwhile by other threads: embed directly
            return self.inner.embed(list(texts))
        return np.vstack(found) if found else np.zeros((0, 1), dtype=np.float32)

    def _get(self, text: str) -> np.ndarray | None:
        vector = self._pinned.get(text)
        return vector if vector is not None else self._recent.get(text)

    @contextmanager
    def pinned(self, texts: Sequence[str], progress: bool = False) -> Iterator[None]:
        """Embed ``texts`` in batches now and keep their vectors until the block ends."""
        unique = list(dict.fromkeys(text for text in texts if self._get(text) is None))
        vectors = list(self.inner.embed(unique, progress=progress)) if unique else []
        with self._lock:
            added = {text: vector for text, vector in zip(unique, vectors) if text not in self._pinned}
            self._pinned.update(added)
        try:
            yield
        finally:
            with self._lock:
                for text in added:
                    self._pinned.pop(text, None)
