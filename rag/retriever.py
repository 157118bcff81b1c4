"""How dense and keyword scores become one ranking: pure functions over candidate scores.

Hybrid search scores every candidate (the union of both retrievers' top lists) with both
retrievers, scales each score list to [0, 1] by its max over the candidates, and mixes them with a
weight. On the seeds, SciFact and SQuAD this beat reciprocal rank fusion, which throws the
score gaps away (README, Evaluation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first (ties keep position order)."""
    import numpy as np

    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def min_max(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant list becomes all zeros, so it cannot sway the mix."""
    import numpy as np

    low, high = float(scores.min(initial=0.0)), float(scores.max(initial=0.0))
    if high - low <= 1e-12:
        return np.zeros_like(scores, dtype=np.float32)
    return ((scores - low) / (high - low)).astype(np.float32)


def convex_fusion(dense: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """``weight * dense' + (1 - weight) * lexical'`` where ' is min-max scaling over the candidates."""
    return weight * min_max(dense) + (1.0 - weight) * min_max(lexical)


def rrf_fusion(dense: np.ndarray, lexical: np.ndarray, constant: int = 60) -> np.ndarray:
    """Reciprocal rank fusion, the baseline: ``sum 1 / (constant + rank)`` over both rankings."""
    import numpy as np

    fused = np.zeros(len(dense), dtype=np.float32)
    for scores in (dense, lexical):
        ranks = np.empty(len(scores), dtype=np.int64)
        ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
        fused += 1.0 / (constant + ranks)
    return fused
