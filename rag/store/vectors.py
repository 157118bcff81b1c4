"""Dense vectors on disk and in memory: the one importer of faiss.

Vectors are keyed by piece id (``IndexIDMap2``; a chunk has one piece, or one per sentence: ``rag.store.pieces``)
and reconstructable by id for hybrid re-scoring; searches answer in chunks, each scored by its best piece.
The index type follows the size (``Policy``): an exact ``IndexFlatIP`` scan below ``hnsw_from``
vectors, an ``IndexHNSWFlat`` graph (inner product) above it. The type and its parameters are
recorded in the manifest (``Dense.spec``; no record means exact).

faiss's HNSW cannot remove a vector, so a removal from a graph is a *tombstone*: the id is kept
in ``vectors.deleted.npy`` beside the index and filtered out of every search. When tombstones pass
``COMPACT_AT`` of the graph, or the size crosses the threshold, ``settle`` rebuilds the index from
the stored vectors: editing one file of a million-chunk index costs milliseconds, not a rebuild.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from . import pieces

if TYPE_CHECKING:
    import numpy as np

HNSW_FROM = Settings.hnsw_from  # vectors; where an exact query passes a few ms (docs/scaling.md)
HNSW_M = 32  # graph degree; +272 B a vector on disk over exact
EF_CONSTRUCTION = 160  # 80 built 1M in 168 s but reached recall@10 0.95 only at efSearch 512
EF_SEARCH = 256  # at 1M: recall@10 0.99 at p50 0.8 ms (docs/scaling.md)
COMPACT_AT = 0.1  # share of tombstones in a graph that triggers a rebuild at commit
PARALLEL_FROM = 200_000  # vectors; below this, one exact query is a few milliseconds of work on one thread
BATCH = 100_000  # vectors added to a new index at a time, so a rebuild holds one extra batch, not a copy


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise ImportError("faiss is not installed: run `pip install faiss-cpu`.") from None
    return faiss


@dataclass(frozen=True)
class Policy:
    """Which index the settings ask for: ``auto`` picks exact below ``hnsw_from`` vectors, HNSW above."""

    kind: str = "auto"
    hnsw_from: int = HNSW_FROM
    m: int = HNSW_M
    ef_construction: int = EF_CONSTRUCTION
    ef_search: int = EF_SEARCH

    def kind_for(self, count: int) -> str:
        if self.kind == "auto":
            return "hnsw" if count >= self.hnsw_from else "flat"
        return self.kind


AUTO = Policy()


class Dense:
    """A faiss index keyed by piece id, and the ids removed from it since its graph was built.

    Offers what the store needs in chunks (``add_chunks``, ``remove_chunks``, ``chunk_ids``, ``next_id``)
    over faiss's pieces, with tombstones hidden: ``ntotal`` counts live vectors only.
    ``spec["piece_bits"]`` (absent: 0) says how piece ids are made from chunk ids."""

    def __init__(self, index: Any, spec: dict[str, Any], deleted: np.ndarray | None = None) -> None:
        import numpy as np

        self.index, self.spec = index, dict(spec)
        self.deleted = np.zeros(0, np.int64) if deleted is None else np.asarray(deleted, dtype=np.int64)
        self._selector: Any = None
        self._next_id: int | None = None
        self._sorted: np.ndarray | None = None  # live piece ids, sorted, kept in step with adds and removals

    @property
    def bits(self) -> int:
        return int(self.spec.get("piece_bits", 0))

    @property
    def kind(self) -> str:
        return str(self.spec.get("kind", "flat"))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal) - len(self.deleted)

    @property
    def d(self) -> int:
        return int(self.index.d)

    @property
    def next_id(self) -> int:
        """One past the largest chunk id ever stored, tombstones included: a new chunk never reuses a removed id."""
        if self._next_id is None:
            stored = _faiss().vector_to_array(self.index.id_map)
            self._next_id = int(stored.max() >> self.bits) + 1 if len(stored) else 1
        return self._next_id

    def add_with_ids(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add vectors under their piece ids."""
        import numpy as np

        self.index.add_with_ids(vectors, ids)
        if self._sorted is not None and len(ids) and (not len(self._sorted) or int(min(ids)) > int(self._sorted[-1])):
            self._sorted = np.concatenate([self._sorted, np.sort(np.asarray(ids, dtype=np.int64))])  # new chunks: past the end
        elif len(ids):
            self._sorted = None
        if len(ids):
            self._next_id = max(self.next_id, int(max(ids) >> self.bits) + 1)

    def add_chunks(self, chunk_ids: np.ndarray, matrices: Sequence[np.ndarray]) -> None:
        """Add each chunk's vectors, one row per piece (one row when the index keeps one vector per chunk)."""
        import numpy as np

        if not len(matrices):
            return
        ids = pieces.piece_ids(chunk_ids, [len(matrix) for matrix in matrices], self.bits)
        self.add_with_ids(np.vstack(matrices).astype(np.float32, copy=False), ids)

    def remove_chunks(self, chunk_ids: Sequence[int] | np.ndarray) -> None:
        """Remove every piece of ``chunk_ids``: from an exact index at once, from a graph as tombstones."""
        import numpy as np

        live = self.sorted_ids()
        ids, _ = pieces.pieces_of(live, chunk_ids, self.bits)
        if self.kind == "flat":
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))
        else:
            self.deleted = np.union1d(self.deleted, np.asarray(ids, dtype=np.int64))
            self._selector = None
        self._sorted = np.delete(live, np.searchsorted(live, ids))  # an edit does not sort every id again

    def ids(self) -> np.ndarray:
        """The live piece ids, in storage order."""
        import numpy as np

        stored = _faiss().vector_to_array(self.index.id_map)
        return stored[~np.isin(stored, self.deleted)] if len(self.deleted) else stored

    def sorted_ids(self) -> np.ndarray:
        import numpy as np

        if self._sorted is None:
            self._sorted = np.sort(self.ids())
        return self._sorted

    def chunk_ids(self) -> np.ndarray:
        """The chunks that have vectors, in id order."""
        import numpy as np

        return np.unique(pieces.owners(self.sorted_ids(), self.bits))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        if self.kind == "flat":
            faiss.omp_set_num_threads(1 if self.ntotal < PARALLEL_FROM else os.cpu_count() or 1)
            return self.index.search(query, k)  # type: ignore[no-any-return]
        faiss.omp_set_num_threads(1)  # a graph walk for one query is sequential
        if self._selector is None and len(self.deleted):
            batch = faiss.IDSelectorBatch(self.deleted)
            self._selector = (faiss.IDSelectorNot(batch), batch)  # the pair keeps the inner selector alive
        parameters = faiss.SearchParametersHNSW(efSearch=max(int(self.spec["ef_search"]), k))
        if self._selector is not None:
            parameters.sel = self._selector[0]
        return self.index.search(query, k, params=parameters)  # type: ignore[no-any-return]


def new_vectors(dimension: int, kind: str = "flat", policy: Policy = AUTO, bits: int = 0) -> Dense:
    """An empty index; ``bits`` 0 keeps one vector per chunk, ``pieces.PIECE_BITS`` up to that many per chunk."""
    faiss = _faiss()
    pieced = {"piece_bits": bits} if bits else {}
    if kind == "flat":
        return Dense(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), {"kind": "flat", **pieced})
    graph = faiss.IndexHNSWFlat(dimension, policy.m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = policy.ef_construction
    graph.hnsw.efSearch = policy.ef_search
    spec = {"kind": "hnsw", "M": policy.m, "ef_construction": policy.ef_construction, "ef_search": policy.ef_search}
    return Dense(faiss.IndexIDMap2(graph), {**spec, **pieced})


def settle(vectors: Dense, policy: Policy) -> Dense:
    """The index to write: ``vectors`` itself, or a rebuild when the size crossed the policy's threshold,
    the parameters changed, or tombstones passed ``COMPACT_AT`` of a graph."""
    target = new_vectors(vectors.d, policy.kind_for(vectors.ntotal), policy, vectors.bits)
    stale = len(vectors.deleted) > COMPACT_AT * max(vectors.index.ntotal, 1)
    if target.spec == {key: vectors.spec.get(key) for key in target.spec} and not stale:
        return vectors
    _faiss().omp_set_num_threads(os.cpu_count() or 1)
    ids = vectors.ids()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        target.add_with_ids(vectors.index.reconstruct_batch(batch), batch)  # piece ids kept as they are
    return target


def read_vectors(path: Path, spec: dict[str, Any] | None = None, bits: int = 0) -> Dense:
    """The index at ``path`` as the manifest describes it (no description: exact, written before HNSW), its
    piece ids made with ``bits`` (``pieces.bits_for`` the index's settings)."""
    import numpy as np

    spec = {**(spec or {"kind": "flat"}), **({"piece_bits": bits} if bits else {})}
    deleted = np.load(path.with_name(DELETED)) if spec.get("deleted") else None
    return Dense(_faiss().read_index(str(path)), spec, deleted)


DELETED = "vectors.deleted.npy"


def write_vectors(vectors: Dense, path: Path) -> dict[str, Any]:
    """Write the index (and its tombstones); the description the manifest records."""
    import numpy as np

    _faiss().write_index(vectors.index, str(path))
    spec = {key: value for key, value in vectors.spec.items() if key != "deleted"}
    if len(vectors.deleted):
        np.save(path.with_name(DELETED), vectors.deleted)
        spec["deleted"] = len(vectors.deleted)
    return spec


def search(vectors: Dense, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ids and scores (each chunk's best piece) of the ``k`` nearest chunks, best first.

    Pieces are fetched four per wanted chunk, then more until ``k`` chunks are found or none are left.
    An exact scan runs on one OpenMP thread below ``PARALLEL_FROM`` vectors: waking a second thread for
    the 100 candidates hybrid fusion takes cost 6 ms a query here, against 0.01 ms for the scan itself."""
    fetch = k if vectors.bits == 0 else 4 * k
    while True:
        scores, found = vectors.search(query.reshape(1, -1), min(fetch, vectors.ntotal))
        keep = found[0] >= 0
        chunks, best = pieces.best_per_chunk(found[0][keep], scores[0][keep], vectors.bits, k)
        if len(chunks) >= k or fetch >= vectors.ntotal:
            return chunks, best
        fetch *= 4


def chunk_vectors(vectors: Dense, chunk_ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """The stored vectors of ``chunk_ids`` (one row per piece, chunk by chunk) and how many rows each chunk has."""
    import numpy as np

    ids, counts = pieces.pieces_of(vectors.sorted_ids(), chunk_ids, vectors.bits)
    if not len(ids):
        return np.zeros((0, vectors.d), np.float32), counts
    return vectors.index.reconstruct_batch(ids), counts


def chunk_scores(vectors: Dense, query: np.ndarray, chunk_ids: Any) -> np.ndarray:
    """The best inner product of ``query`` with each chunk's pieces, in the order of ``chunk_ids``."""
    matrix, counts = chunk_vectors(vectors, chunk_ids)
    return pieces.max_by_count(matrix @ query, counts)
