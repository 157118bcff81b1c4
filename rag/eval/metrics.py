"""Retrieval and answer metrics: pure functions over judgments, no index, no I/O.

A ranking is judged as ``matches``: for each ranked item, best first, the set of relevant ids it
matches (empty when it is not relevant). For document retrieval (BEIR, SQuAD) an item matches
its own id when that id is relevant; for span relevance (eval/seeds.jsonl) a passage matches
every evidence quote it overlaps. An item earns gain only for ids no earlier item matched, so a
quote covered by two overlapping chunks counts once and nDCG stays in [0, 1]; on rankings of
distinct documents this is exactly the BEIR / pytrec_eval definition::

    >>> round(ndcg_at_k([set(), {"d1"}], relevant={"d1", "d2"}, k=10), 4)  # 1/log2(3) / (1 + 1/log2(3))
    0.3869
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Sequence

Matches = Sequence[Collection[Hashable]]


def judge(ranked_ids: Iterable[Hashable], relevant: Collection[Hashable]) -> list[frozenset[Hashable]]:
    """``matches`` for a ranking of ids: ``["d3", "d1"], {"d1"}`` -> ``[frozenset(), frozenset({"d1"})]``."""
    return [frozenset([item]) if item in relevant else frozenset() for item in ranked_ids]


def _gains(matches: Matches, k: int) -> list[int]:
    """1 where an item in the top ``k`` matches a relevant id not matched higher up, else 0."""
    seen: set[Hashable] = set()
    gains = []
    for found in matches[:k]:
        new = set(found) - seen
        gains.append(1 if new else 0)
        seen |= new
    return gains


def first_relevant_rank(matches: Matches) -> int | None:
    """1-based rank of the first relevant item, or ``None`` when none is."""
    return next((rank for rank, found in enumerate(matches, 1) if found), None)


def hit_at_k(matches: Matches, k: int) -> float:
    """1.0 when any of the top ``k`` items is relevant (success@k, the seeds' and SQuAD's hit@k)."""
    return 1.0 if any(matches[:k]) else 0.0


def recall_at_k(matches: Matches, relevant: Collection[Hashable], k: int) -> float:
    """Share of the relevant ids matched by the top ``k`` items."""
    if not relevant:
        raise ValueError("recall needs at least one relevant id")
    found: set[Hashable] = set()
    for item in matches[:k]:
        found |= set(item)
    return len(found & set(relevant)) / len(relevant)


def mrr_at_k(matches: Matches, k: int) -> float:
    """Reciprocal rank of the first relevant item within the top ``k``; 0.0 when there is none."""
    rank = first_relevant_rank(matches[:k])
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(matches: Matches, relevant: Collection[Hashable], k: int) -> float:
    """Binary nDCG: DCG = sum gain / log2(rank + 1); the ideal puts min(k, |relevant|) hits first."""
    if not relevant:
        raise ValueError("nDCG needs at least one relevant id")
    dcg = sum(gain / math.log2(rank + 1) for rank, gain in enumerate(_gains(matches, k), 1))
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not ``None``; ``None`` when there are none."""
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation, as numpy's default does."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must lie in [0, 100], not {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def answer_correct(answer_text: str, gold_answers: Iterable[str]) -> bool:
    """True when any gold answer occurs in the answer, ignoring case (eval/README.md, Scoring)."""
    text = answer_text.casefold()
    return any(gold.strip() and gold.strip().casefold() in text for gold in gold_answers)


def citation_precision(cited_relevant: Iterable[bool]) -> float | None:
    """Share of cited passages that are relevant; ``None`` when nothing was cited."""
    judged = list(cited_relevant)
    return sum(judged) / len(judged) if judged else None


def abstention_precision_recall(abstained: Sequence[bool],
                                answerable: Sequence[bool]) -> tuple[float | None, float | None]:
    """How often an abstention was right (precision) and how many unanswerables were declined (recall).

    ``None`` where the denominator is zero (no abstention, or no unanswerable question).
    """
    if len(abstained) != len(answerable):
        raise ValueError("abstained and answerable must have one entry per question")
    right = sum(1 for declined, can in zip(abstained, answerable, strict=True) if declined and not can)
    declined_total = sum(abstained)
    unanswerable = sum(1 for can in answerable if not can)
    return (right / declined_total if declined_total else None, right / unanswerable if unanswerable else None)
