"""The local store's vector index at 100k and 1M vectors (exact and HNSW), pgvector at 100k, BM25 at 100k chunks.

The vectors have real neighbour structure without near-duplicates (``bench/vectors.py``): distinct
real embeddings of SciFact and SQuAD, and synthetic rows drawn between real neighbours. Queries are
real questions. Indexes are built and searched through ``rag.store.vectors``, the store's own code,
so the rows measure what ``rag`` serves; recall@10 is against the exact top 10 of the same rows.
"""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .query import percentiles

log = logging.getLogger(__name__)

EF_SEARCH = (64, 128, 256, 512)  # around the store's default (rag.store.vectors.EF_SEARCH)
SIGMA = 0.03  # per-dimension noise on synthetic rows: with the interpolation, cosine ~0.81 to their source


def _latency(vectors: Any, queries: Any, k: int) -> tuple[dict[str, float], Any]:
    """Single-query latency through the store's search (its thread policy included) and the ids found."""
    import numpy as np

    from rag.store import vectors as dense

    samples, found = [], []
    for row in range(len(queries)):
        started = time.perf_counter()
        ids, _ = dense.search(vectors, queries[row], k)
        samples.append(time.perf_counter() - started)
        found.append(ids)
    return percentiles(samples), np.vstack(found)


def _recall(found: Any, truth: Any) -> float:
    import numpy as np

    return float(np.mean([len(set(found[row]) & set(truth[row])) / len(truth[row]) for row in range(len(truth))]))


def _bytes(vectors: Any) -> int:
    from rag.store import vectors as dense

    with tempfile.TemporaryDirectory() as folder:
        dense.write_vectors(vectors, Path(folder) / "vectors.faiss")
        return sum(path.stat().st_size for path in Path(folder).iterdir())


def _build(kind: str, data: Any, **policy: Any) -> tuple[Any, float]:
    """An index of ``kind`` holding ``data`` (ids 0..n-1), added in batches as the store's rebuild does."""
    import numpy as np

    from rag.store import vectors as dense

    started = time.perf_counter()
    vectors = dense.new_vectors(data.shape[1], kind, dense.Policy(kind, **policy))
    for start in range(0, len(data), dense.BATCH):
        stop = min(start + dense.BATCH, len(data))
        vectors.add_with_ids(data[start:stop], np.arange(start, stop, dtype=np.int64))
    return vectors, time.perf_counter() - started


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def faiss_at(real: Any, questions: Any, size: int, queries: int = 200, sigma: float = SIGMA, k: int = 10,
             ef_search: Sequence[int] = EF_SEARCH, pgvector: Path | None = None) -> dict[str, Any]:
    """Exact and HNSW over ``size`` rows: build seconds, bytes, p50/p95, recall@k against exact, peak memory;
    and pgvector over the same rows when ``pgvector`` names a folder for its server."""
    import numpy as np

    from rag.store import vectors as dense

    from .vectors import source_cosine, spread, synthetic

    data, origin = synthetic(real, size, sigma)
    rng = np.random.default_rng(1)
    query_rows = np.ascontiguousarray(questions[rng.choice(len(questions), size=queries, replace=False)])
    result: dict[str, Any] = {"vectors": size, "dimension": data.shape[1], "sigma": sigma, "queries": queries,
                              "real_vectors": len(real), "source_cosine": source_cosine(data, origin, real)}
    log.info("scale %d: exact (IndexFlatIP)", size)
    exact, build = _build("flat", data)
    latency, truth = _latency(exact, query_rows, k)
    result["exact"] = {"build_s": build, "bytes": _bytes(exact), **latency, "recall_at_10": 1.0}
    result["spread"] = spread(truth, origin)
    del exact
    if pgvector is not None:
        from .pgvector import pgvector_at

        try:
            result["pgvector"] = pgvector_at(data, query_rows, truth, pgvector)
        except Exception as error:  # noqa: BLE001 - the FAISS rows still count; the table says why this one is missing
            log.exception("pgvector at %d failed", size)
            result["pgvector"] = {"failed": f"{type(error).__name__}: {error}"}
    log.info("scale %d: HNSW M=%d efConstruction=%d", size, dense.HNSW_M, dense.EF_CONSTRUCTION)
    hnsw, build = _build("hnsw", data)
    del data
    result["hnsw"] = {"M": dense.HNSW_M, "efConstruction": dense.EF_CONSTRUCTION, "build_s": build,
                      "bytes": _bytes(hnsw)}
    for ef in ef_search:
        hnsw.spec["ef_search"] = ef
        latency, found = _latency(hnsw, query_rows, k)
        result["hnsw"][f"efSearch={ef}"] = {**latency, "recall_at_10": _recall(found, truth)}
    result["peak_rss_mb"] = _peak_mb()
    result["cpus"] = os.cpu_count()
    return result


def bm25_at(texts: Sequence[str], questions: Sequence[str], size: int = 100_000, queries: int = 200) -> dict[str, Any]:
    """This project's BM25 (tokenize + bm25s) over ``size`` chunk texts repeated from the corpus."""
    import numpy as np

    from rag.fusion import top_k
    from rag.store.lexical import Lexical

    repeated = [texts[row % len(texts)] for row in range(size)]
    log.info("scale %d: BM25 build over repeated chunk texts", size)
    started = time.perf_counter()
    lexical = Lexical.build(repeated, np.arange(size, dtype=np.int64))
    build = time.perf_counter() - started
    samples = []
    for question in list(questions)[:queries]:
        started = time.perf_counter()
        scores = lexical.scores(question)
        top_k(scores, 10)
        samples.append(time.perf_counter() - started)
    return {"chunks": size, "build_s": build, **percentiles(samples)}
