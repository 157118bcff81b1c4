"""What an answerer needs from an index: search and embed, nothing more.

Any object with these members can be answered over (``rag.Index`` is one); answerers never
import the front door, so the dependency runs one way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from ..config import Settings
from ..types import Passage

if TYPE_CHECKING:
    import numpy as np


class Reader(Protocol):
    settings: Settings

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None, rerank: bool = True) -> list[Passage]:
        """Passages best first; ``rerank=False`` gives the search's own order and scores, which the
        answerer's features were fitted on."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text, from the model that built the index."""
        ...

    def idf(self, terms: Sequence[str]) -> Mapping[str, float]:
        """BM25 inverse document frequency of each term over the indexed chunks."""
        ...

    def raw_span(self, passage: Passage, clean_start: int, clean_end: int) -> tuple[int, int]:
        """File offsets of ``passage.clean_text[clean_start:clean_end]``, for citations."""
        ...
