"""Vectors for the scale rows: distinct real embeddings, and synthetic ones drawn between them.

Real: the project's embedder over SciFact abstracts and SQuAD dev paragraphs, whole and sentence
by sentence (~60k distinct texts), cached as ``.npy`` under ``.rag/bench/vectors/``. Queries are
real questions (SciFact claims and SQuAD questions), so they never occur in the database.

Synthetic rows are each drawn between one real vector (its *source*) and one of that source's 20
nearest real neighbours, plus Gaussian noise, renormalised: they fill the space between real
texts instead of piling up on them, so a query's exact neighbours come from many sources
(``spread`` measures it). Repeating each real vector with small noise instead made a query's
exact top 10 ten copies of one chunk, ordered by the noise alone.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCIFACT = Path("/work/shared/bench/scifact")
CACHE = Path(".rag/bench/vectors")
NEIGHBOURS = 20  # a synthetic row lies between its source and one of these real neighbours


def _texts(squad: Path) -> tuple[list[str], list[str]]:
    """Database texts (passages and their sentences, distinct) and query texts (real questions)."""
    from rag.sentences import sentences

    from .corpus import squad_articles

    passages, questions = [], []
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        passages += [f"{row['title']}\n\n{row['text']}" for row in map(json.loads, handle)]
    with gzip.open(SCIFACT / "queries.jsonl.gz", "rt", encoding="utf-8") as handle:
        questions += [row["text"] for row in map(json.loads, handle)]
    for article in squad_articles(squad):
        for paragraph in article["paragraphs"]:
            passages.append(f"{article['title'].replace('_', ' ')}\n\n{paragraph['context']}")
            questions += [qa["question"] for qa in paragraph["qas"]]
    units = passages + [sentence for passage in passages for sentence in sentences(passage.split("\n\n", 1)[-1])
                        if len(sentence) >= 40]
    return list(dict.fromkeys(units)), list(dict.fromkeys(questions))


def real_vectors(squad: Path, cache: Path = CACHE) -> tuple[Any, Any]:
    """``(database, questions)``: unit embeddings of distinct real texts, computed once and cached."""
    import numpy as np

    names = (cache / "real.npy", cache / "questions.npy")
    if not all(path.is_file() for path in names):
        from rag import Settings
        from rag.backends import make_embedder

        units, questions = _texts(squad)
        embedder = make_embedder(Settings())
        log.info("embedding %d real texts and %d questions (cached in %s)", len(units), len(questions), cache)
        cache.mkdir(parents=True, exist_ok=True)
        for path, texts in zip(names, (units, questions), strict=True):
            np.save(path, np.asarray(embedder.embed(texts), dtype=np.float32))
    return np.load(names[0]), np.load(names[1])


def neighbours(real: Any, count: int = NEIGHBOURS) -> Any:
    """Each real vector's ``count`` nearest other real vectors (exact inner product)."""
    import faiss
    import numpy as np

    index = faiss.IndexFlatIP(real.shape[1])
    index.add(real)
    _, ids = index.search(real, count + 1)
    return np.ascontiguousarray(ids[:, 1:])


def synthetic(real: Any, size: int, sigma: float, seed: int = 0) -> tuple[Any, Any]:
    """``size`` unit rows (the real ones first) and each row's source (the real row it was drawn from)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    near = neighbours(real)
    data = np.empty((size, real.shape[1]), dtype=np.float32)
    origin = np.empty(size, dtype=np.int64)
    first = min(size, len(real))
    data[:first], origin[:first] = real[:first], np.arange(first)
    for start in range(first, size, 50_000):
        stop = min(start + 50_000, size)
        source = rng.integers(len(real), size=stop - start)
        partner = near[source, rng.integers(NEIGHBOURS, size=stop - start)]
        weight = rng.uniform(0.0, 0.5, size=(stop - start, 1)).astype(np.float32)
        rows = (1 - weight) * real[source] + weight * real[partner]
        rows += rng.standard_normal(rows.shape, dtype=np.float32) * np.float32(sigma)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        data[start:stop], origin[start:stop] = rows, source
    return data, origin


def source_cosine(data: Any, origin: Any, real: Any, sample: int = 10_000) -> float:
    """Mean cosine of synthetic rows to their source: how far they are drawn from it."""
    import numpy as np

    rows = np.arange(len(real), len(data))[:sample]
    return float(np.mean(np.sum(data[rows] * real[origin[rows]], axis=1))) if len(rows) else 1.0


def spread(truth: Any, origin: Any) -> dict[str, float]:
    """How many distinct sources a query's exact top k come from, and the largest share of one source."""
    import numpy as np

    distinct = [len(set(origin[row].tolist())) for row in truth]
    largest = [np.max(np.unique(origin[row], return_counts=True)[1]) / len(row) for row in truth]
    return {"sources_in_top10_mean": float(np.mean(distinct)), "sources_in_top10_min": float(np.min(distinct)),
            "largest_source_share_mean": float(np.mean(largest))}
