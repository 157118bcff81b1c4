"""Passages for a question from one opened store: dense, keyword (BM25) or hybrid ranking.

    Retriever(store, embedder, settings).search("Who opened the first course?", k=3)
    # [Passage(text="The respected Comrade **Kim Jong Un** made an opening address.", score=0.91, rank=1, ...), ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from .config import MODES, Settings
from .embedding import Embedder
from .errors import InvalidQueryError
from .fusion import convex_fusion, top_k
from .store import Store
from .types import Passage

if TYPE_CHECKING:
    import numpy as np


def check_question(question: str, max_chars: int) -> str:
    """The question stripped, or an ``InvalidQueryError`` a person can act on."""
    # undecodable bytes from a terminal arrive as lone surrogates, which no tokenizer accepts
    text = (question or "").encode("utf-8", "replace").decode("utf-8").strip()
    if not text:
        raise InvalidQueryError("Please type a question: this one is empty.")
    if len(text) > max_chars:
        raise InvalidQueryError(f"The question is {len(text):,} characters long; keep it under {max_chars:,}.")
    return text


class Retriever:
    """Ranks one store's chunks for a question; ``settings`` gives the defaults and the fusion weight."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first, ranks from 1.

        ``mode`` is ``hybrid`` (default), ``dense`` or ``bm25``; ``sources`` keeps only passages
        from those files (paths as ingested).
        """
        import numpy as np

        question = check_question(question, self.settings.max_question_chars)
        k = self.settings.k if k is None else k
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InvalidQueryError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
        if k < 1:
            raise InvalidQueryError(f"k must be at least 1, not {k}.")
        allowed = None if sources is None else np.asarray(self.store.chunk_ids_of(self._sources(sources)), dtype=np.int64)
        ids, scores = self._rank(question, k, mode, allowed)
        found = self.store.passages(ids)
        return [replace(found[int(chunk_id)], score=float(score), rank=rank)
                for rank, (chunk_id, score) in enumerate(zip(ids, scores), 1)]

    def _sources(self, sources: Sequence[str]) -> list[str]:
        """Document ids for sources as people type them: ``seeds/000_x.txt`` is the document ``000_x.txt``."""
        known = [document.doc_id for document in self.store.documents()]
        found = []
        for source in sources:
            typed = source.replace("\\", "/").removeprefix("./")
            match = next((doc_id for doc_id in known if typed == doc_id or typed.endswith("/" + doc_id)), None)
            if match is None:
                listed = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
                raise InvalidQueryError(f"No indexed document is named {source!r}; sources are named as ingested: {listed}.")
            found.append(match)
        return found

    def _rank(self, question: str, k: int, mode: str, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        if mode == "bm25":
            lexical_ids, lexical_scores = self._lexical(question, allowed)
            order = top_k(lexical_scores, k)
            order = order[lexical_scores[order] > 0]
            return lexical_ids[order], lexical_scores[order]
        query = self.embedder.embed([question])[0]
        depth = k if mode == "dense" else max(k, self.settings.fusion_depth)
        dense_ids, dense_scores = self._dense(query, depth, allowed)
        if mode == "dense":
            return dense_ids, dense_scores
        lexical_ids, lexical_scores = self._lexical(question, allowed)
        best_lexical = top_k(lexical_scores, depth)
        best_lexical = best_lexical[lexical_scores[best_lexical] > 0]
        candidates = np.unique(np.concatenate([dense_ids, lexical_ids[best_lexical]]))
        if not len(candidates):
            return candidates, np.zeros(0, np.float32)
        position = {int(chunk_id): row for row, chunk_id in enumerate(lexical_ids)}
        candidate_lexical = np.asarray([lexical_scores[position[int(c)]] for c in candidates], dtype=np.float32)
        candidate_dense = self.store.vectors_of(candidates) @ query
        fused = convex_fusion(candidate_dense, candidate_lexical, self.settings.fusion_weight)
        order = top_k(fused, k)
        return candidates[order], fused[order]

    def _dense(self, query: np.ndarray, depth: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The ``depth`` nearest chunks; with ``allowed``, scored exactly among those chunks only."""
        import numpy as np

        if allowed is None:
            return self.store.dense_search(query, depth)
        scores = self.store.vectors_of(allowed) @ query if len(allowed) else np.zeros(0, np.float32)
        order = top_k(scores, depth)
        return allowed[order], scores[order]

    def _lexical(self, question: str, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """BM25 score of every chunk (of the ``allowed`` ones) with its chunk id."""
        import numpy as np

        lexical = self.store.lexical
        ids, scores = lexical.chunk_ids, lexical.scores(question)
        if allowed is not None:
            keep = np.isin(ids, allowed)
            ids, scores = ids[keep], scores[keep]
        return ids, scores
