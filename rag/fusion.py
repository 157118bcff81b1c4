"""How rankings become one: pure functions over scores and ranked ids.

Hybrid search scores every candidate (the union of both retrievers' top lists) with both
retrievers, scales each score list to [0, 1] by its max over the candidates, and mixes them with a
weight. On the seeds, SciFact and SQuAD this beat reciprocal rank fusion, which throws the
score gaps away (README, Evaluation); RRF stays as the baseline the benchmarks compare with.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, TypeVar

from .store.base import top_k

if TYPE_CHECKING:
    import numpy as np

Id = TypeVar("Id", bound=Hashable)
__all__ = ["convex_fusion", "min_max", "reciprocal_rank_fusion", "top_k"]  # top_k: shared with the stores
RRF_CONSTANT = 60


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


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Id]], constant: int = RRF_CONSTANT,
                           limit: int | None = None) -> list[Id]:
    """Classic RRF: ``sum 1 / (constant + rank)`` over the rankings; ties keep first-seen order."""
    scores: dict[Id, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (constant + rank)
    return sorted(scores, key=lambda item: -scores[item])[:limit]
