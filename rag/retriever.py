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
from .store.base import Reader
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

    def __init__(self, store: Reader, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def search(self, question: str, k: int | None = None, mode: str | None = None,
               sources: Sequence[str] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first, ranks from 1.

        ``mode`` is ``hybrid`` (default), ``dense`` or ``bm25``; ``sources`` keeps only passages
        from those files (paths as ingested).
        """
        question = check_question(question, self.settings.max_question_chars)
        k = self.settings.k if k is None else k
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise InvalidQueryError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
        if k < 1:
            raise InvalidQueryError(f"k must be at least 1, not {k}.")
        query = None if mode == "bm25" else self.embedder.embed([question])[0]  # before the store is pinned
        with self.store.reading():  # one state of the store for the whole search
            doc_ids = None if sources is None else self._sources(sources)
            ids, scores = self._rank(question, query, k, mode, doc_ids)
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

    def _rank(self, question: str, query: np.ndarray | None, k: int, mode: str,
              doc_ids: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and scores, best first. Hybrid: the union of both top lists, each candidate scored by
        both retrievers, then ``convex_fusion``; the store answers each side (one SQL query each in PostgreSQL)."""
        import numpy as np

        if query is None:
            return self.store.keyword_search(question, k, doc_ids)
        depth = k if mode == "dense" else max(k, self.settings.fusion_depth)
        dense_ids, _ = dense = self.store.dense_search(query, depth, doc_ids)
        if mode == "dense":
            return dense
        lexical_ids, lexical_scores = self.store.keyword_search(question, depth, doc_ids, include=dense_ids)
        candidates = np.unique(np.concatenate([dense_ids, lexical_ids]).astype(np.int64))
        if not len(candidates):
            return candidates, np.zeros(0, np.float32)
        score_of = dict(zip(lexical_ids.tolist(), lexical_scores.tolist()))
        candidate_lexical = np.asarray([score_of.get(int(c), 0.0) for c in candidates], dtype=np.float32)
        candidate_dense = self.store.dense_scores(query, candidates)
        fused = convex_fusion(candidate_dense, candidate_lexical, self.settings.fusion_weight)
        order = top_k(fused, k)
        return candidates[order], fused[order]
