"""Several vectors per chunk: the id arithmetic and the max over a chunk's pieces, as numpy over ids.

With ``dense_unit = "sentence"`` each sentence of a chunk is embedded on its own (with the chunk's title
and section path), and a chunk's dense score is the best score of its sentences: a 1,200-character chunk
squeezed into one 256-token vector blurs the one sentence a question is about. This is the field's
"small-to-big" retrieval (LangChain's MultiVectorRetriever, LlamaIndex's sentence-window retrieval):
small units are matched, whole chunks are returned. On the fitting sets (eval/pydocs-train.jsonl,
eval/whatsnew-train.jsonl) the best sentence alone ranked the right chunk first for 0.78 and 0.83 of the
questions, the chunk's own vector for 0.62 and 0.48.

A piece's id is ``chunk_id << bits | number``: ``bits`` is 0 for one vector per chunk (indexes built
before pieces), ``PIECE_BITS`` for sentences. Ids stay int64, as faiss and PostgreSQL keep them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

PIECE_BITS = 10
MAX_PIECES = 1 << PIECE_BITS  # a chunk with more sentences has its last ones embedded together (chunking)


def bits_for(settings: dict[str, object]) -> int:
    """How piece ids are made in an index built with ``settings`` (its ``dense_unit``)."""
    return PIECE_BITS if settings.get("dense_unit") == "sentence" else 0


def check_counts(counts: Sequence[int], bits: int) -> None:
    """Every chunk has a vector, and only one when the index keeps one per chunk (``bits`` 0)."""
    if any(count < 1 for count in counts):
        raise ValueError("every chunk needs at least one vector")
    if bits == 0 and any(count != 1 for count in counts):
        raise ValueError("an index with one vector per chunk cannot hold several")


def piece_ids(chunk_ids: Sequence[int] | np.ndarray, counts: Sequence[int], bits: int) -> np.ndarray:
    """The ids of ``counts[i]`` pieces of each chunk, chunk by chunk."""
    import numpy as np

    check_counts(counts, bits)
    owners = np.repeat(np.asarray(chunk_ids, dtype=np.int64), counts)
    starts = np.repeat(np.cumsum([0, *counts[:-1]]), counts) if len(counts) else np.zeros(0, np.int64)
    return (owners << bits) | (np.arange(len(owners), dtype=np.int64) - starts)


def owners(ids: np.ndarray, bits: int) -> np.ndarray:
    """The chunk id of each piece id."""
    import numpy as np

    return np.asarray(ids, dtype=np.int64) >> bits


def pieces_of(sorted_ids: np.ndarray, chunk_ids: Sequence[int] | np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The stored piece ids of ``chunk_ids`` (from all piece ids, sorted), in chunk order, and how many each has."""
    import numpy as np

    wanted = np.asarray(chunk_ids, dtype=np.int64).reshape(-1)
    low = np.searchsorted(sorted_ids, wanted << bits)
    high = np.searchsorted(sorted_ids, (wanted + 1) << bits)
    counts = high - low
    if not len(wanted):
        return np.zeros(0, np.int64), counts
    positions = np.concatenate([np.arange(start, stop) for start, stop in zip(low, high, strict=True)])
    return sorted_ids[positions.astype(np.int64)], counts


def best_per_chunk(ids: np.ndarray, scores: np.ndarray, bits: int, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ids and the best score of each among ``ids`` and ``scores`` of pieces, best first (ties by chunk id)."""
    import numpy as np

    chunks = owners(ids, bits)
    order = np.lexsort((chunks, -np.asarray(scores)))
    chunks, scores = chunks[order], np.asarray(scores)[order]
    _, first = np.unique(chunks, return_index=True)
    first = np.sort(first)  # the first sighting of a chunk is its best piece
    return chunks[first][:k], scores[first][:k]


def max_by_count(scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The maximum of each run of ``counts`` consecutive scores; -1 (the lowest cosine) for an empty run."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.int64)
    best = np.full(len(counts), -1.0, dtype=np.float32)
    held = counts > 0
    if held.any():
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[held]
        best[held] = np.maximum.reduceat(np.asarray(scores, dtype=np.float32), starts)
    return best
