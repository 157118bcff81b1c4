"""Warm query latency: ``index.search`` in each mode and ``index.ask`` against a bare baseline
(the question encoded by the index's own embedder, past its cache, + ``IndexFlatIP.search``),
interleaved query by query so that noise from a shared machine hits every row alike.

Each row gets its own questions: the index caches query vectors, and a repeated question would
measure the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROWS = ("baseline", "dense", "bm25", "hybrid", "ask")


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    import numpy as np

    values = np.asarray(samples, dtype=np.float64) * 1000.0
    return {"p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)), "n": len(values)}


def baseline_search(index: Any, k: int | None = None) -> Callable[[str], Any]:
    """Bare query encode with the index's backend (past its query cache) + exact FAISS search over the
    same vectors (every piece of every chunk, in chunk-id order), no metadata look-up."""
    import faiss
    import numpy as np

    embedder = index.embedder.inner  # index.embedder caches query vectors
    vectors = index.store.vectors_of(np.sort(index.store.lexical.chunk_ids)).astype(np.float32)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    k = k or index.settings.k

    def search(question: str) -> Any:
        query = embedder.embed([question])
        return flat.search(np.ascontiguousarray(query, dtype=np.float32), k)

    return search


def query_latency(index: Any, questions: Sequence[str], per_row: int = 100, warmup: int = 5) -> dict[str, Any]:
    """p50/p95 per row over ``per_row`` distinct questions each."""
    runners: dict[str, Callable[[str], Any]] = {
        "baseline": baseline_search(index),
        "dense": lambda q: index.search(q, mode="dense"),
        "bm25": lambda q: index.search(q, mode="bm25"),
        "hybrid": lambda q: index.search(q, mode="hybrid"),
        "ask": lambda q: index.ask(q),
    }
    needed = (per_row + warmup) * len(ROWS)
    pool = list(dict.fromkeys(questions))
    if len(pool) < needed:
        log.warning("only %d distinct questions for %d needed: some rows repeat questions", len(pool), needed)
        pool = (pool * (needed // max(len(pool), 1) + 1))[:needed]
    sets = {row: pool[n * (per_row + warmup) : (n + 1) * (per_row + warmup)] for n, row in enumerate(ROWS)}
    for row in ROWS:
        for question in sets[row][:warmup]:
            runners[row](question)
    samples: dict[str, list[float]] = {row: [] for row in ROWS}
    log.info("warm queries: %d per row, rows interleaved", per_row)
    for position in range(warmup, warmup + per_row):
        for row in ROWS:
            started = time.perf_counter()
            runners[row](sets[row][position])
            samples[row].append(time.perf_counter() - started)
    result: dict[str, Any] = {row: percentiles(samples[row]) for row in ROWS}
    for row in ROWS[1:]:
        result[f"{row}_over_baseline_p50"] = result[row]["p50_ms"] / result["baseline"]["p50_ms"]
        result[f"{row}_over_baseline_p95"] = result[row]["p95_ms"] / result["baseline"]["p95_ms"]
    return result


def warm_rows(index_dir: Path, questions: Sequence[str], per_row: int = 100) -> dict[str, Any]:
    """The latency rows on the index at ``index_dir`` opened afresh, and a profile of hybrid search."""
    import rag

    index = rag.load_index(index_dir)
    result = query_latency(index, questions, per_row=per_row)
    result["hybrid_profile"] = profile_hybrid(index, questions[-50:])
    return result


def profile_hybrid(index: Any, questions: Sequence[str], top: int = 12) -> list[dict[str, Any]]:
    """Where a warm hybrid query spends its time: the functions with the most cumulative seconds."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for question in questions:
        index.search(question, mode="hybrid")
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = []
    for (filename, line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages" in filename and "rag/" not in filename and entry[3] < 0.05 * stats.total_tt:  # type: ignore[attr-defined]
            continue
        entries.append({"function": f"{filename.split('site-packages/')[-1]}:{line}({function})",
                        "ms_per_query": entry[3] * 1000 / max(len(questions), 1)})
    entries.sort(key=lambda item: -item["ms_per_query"])
    return entries[:top]
