"""The local store's FAISS index type: exact below ``hnsw_from`` vectors, HNSW above, recorded in the manifest."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, FakeEmbedder

import rag
from rag.chunking import dense_texts
from rag.store import vectors as dense
from rag.store.manifest import read_manifest
from rag.store.pieces import MAX_PIECES, PIECE_BITS

QUESTIONS = ("What did the participants study before the course?", "Which school's department heads gave lectures?",
             "Who gave the opening address?", "How long did the course last?")


def _ids(index: rag.Index, question: str, k: int = 5) -> list[int]:
    return [passage.chunk_id for passage in index.search(question, k=k, mode="dense")]


def _agrees_with_numpy(index: rag.Index, question: str, k: int = 5) -> None:
    """Dense search returns the exact top k of the live chunks, each scored by its best sentence, by a
    brute-force oracle that embeds every sentence again (ties in any order)."""
    store = index.store
    ids = np.asarray(store.chunk_ids_of([document.doc_id for document in index.documents()]))
    query = index.embed([question])[0]
    passages = store.passages(ids)
    oracle = {chunk_id: float((index.embed(dense_texts(passages[chunk_id].title, passages[chunk_id].section,
                                                            passages[chunk_id].clean_text, "sentence", MAX_PIECES))
                               @ query).max()) for chunk_id in ids.tolist()}
    found, scores = store.dense_search(query, k)
    assert set(found.tolist()) <= set(oracle) and len(found) == min(k, len(oracle))
    assert np.allclose(scores, sorted(oracle.values(), reverse=True)[:k], atol=1e-5)
    assert np.allclose(scores, [oracle[chunk_id] for chunk_id in found.tolist()], atol=1e-5)


def test_hnsw_finds_the_exact_top_results_on_the_seeds_and_survives_reloading(tmp_path: Path, embedder):
    exact = rag.build_index(SEEDS, tmp_path / "flat", settings=rag.Settings(vector_index="flat"), embedder=embedder)
    graph = rag.build_index(SEEDS, tmp_path / "hnsw", settings=rag.Settings(hnsw_from=10), embedder=embedder)
    recorded = read_manifest(tmp_path / "hnsw").vectors
    assert recorded["kind"] == "hnsw" and {"M", "ef_construction", "ef_search"} <= set(recorded)
    assert read_manifest(tmp_path / "flat").vectors == {"kind": "flat", "piece_bits": PIECE_BITS}
    assert graph.store.vectors.kind == "hnsw" and exact.store.vectors.kind == "flat"
    reopened = rag.load_index(tmp_path / "hnsw", embedder=embedder)
    for question in QUESTIONS:
        assert _ids(graph, question) == _ids(exact, question) == _ids(reopened, question)
        assert graph.search(question, k=5) == reopened.search(question, k=5)
    chunk_ids = exact.store.chunk_ids_of([document.doc_id for document in exact.documents()])
    assert np.array_equal(graph.store.vectors_of(chunk_ids), exact.store.vectors_of(chunk_ids))


def test_hnsw_stays_exact_through_incremental_add_update_and_delete(seeds_copy: Path, fake_settings: rag.Settings,
                                                                    monkeypatch: pytest.MonkeyPatch):
    settings, embedder = replace(fake_settings, vector_index="hnsw"), FakeEmbedder()
    monkeypatch.setattr(dense, "COMPACT_AT", 1.0)  # the seeds are small: any edit would pass 10 % and rebuild
    first = rag.build_index(seeds_copy, settings=settings, embedder=embedder)
    old_ids = set(first.store.chunk_ids_of(["001_b8239f67380c7682.txt"]))
    (seeds_copy / "new.md").write_text("# Harvest report\n\nThe rice harvest in Kangso county rose by ten percent.\n")
    changed = seeds_copy / "001_b8239f67380c7682.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nA closing paragraph about the tractor plant.\n")
    index = rag.build_index(seeds_copy, settings=settings, embedder=embedder)
    recorded = read_manifest(Path(settings.index_dir)).vectors
    assert recorded["kind"] == "hnsw" and recorded["deleted"] >= 1  # the edited file's old chunks: tombstones
    live = set(index.store.chunk_ids_of([document.doc_id for document in index.documents()]))
    assert len(index.store.vectors.chunk_ids()) == index.info().chunks == len(live) < index.store.vectors.ntotal
    assert not live & (old_ids - set(index.store.chunk_ids_of(["001_b8239f67380c7682.txt"])))
    for question in ("rice harvest Kangso", "tractor plant closing paragraph", *QUESTIONS):
        _agrees_with_numpy(index, question, k=len(live))  # every live chunk, none removed
    monkeypatch.setattr(dense, "COMPACT_AT", 0.1)
    (seeds_copy / "000_0220f7c6bd20be88.txt").unlink()
    index = rag.build_index(seeds_copy, settings=settings, embedder=embedder)
    assert {document.doc_id for document in index.documents()} == {"001_b8239f67380c7682.txt", "new.md"}
    assert read_manifest(Path(settings.index_dir)).vectors.get("deleted", 0) == 0  # past COMPACT_AT: rebuilt
    reopened = rag.load_index(settings.index_dir, settings=settings, embedder=embedder)
    for question in ("rice harvest Kangso", *QUESTIONS):
        _agrees_with_numpy(reopened, question, k=index.info().chunks)


def test_auto_switches_to_hnsw_when_the_index_grows_past_the_threshold(seeds_copy: Path, fake_settings: rag.Settings):
    embedder = FakeEmbedder()
    small = rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    assert small.store.vectors.kind == "flat"
    (seeds_copy / "new.md").write_text("# Harvest report\n\nThe rice harvest in Kangso county rose by ten percent.\n")
    grown = rag.build_index(seeds_copy, settings=replace(fake_settings, hnsw_from=small.info().chunks + 1),
                            embedder=embedder)
    assert grown.store.vectors.kind == "hnsw" and read_manifest(Path(fake_settings.index_dir)).vectors["kind"] == "hnsw"
    _agrees_with_numpy(grown, "rice harvest Kangso")


def test_a_manifest_without_a_vector_index_opens_as_exact(tmp_path: Path, fake_settings: rag.Settings):
    folder = tmp_path / "docs"
    shutil.copytree(SEEDS, folder)
    rag.build_index(folder, settings=fake_settings, embedder=FakeEmbedder())
    path = Path(fake_settings.index_dir) / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["vectors"]  # as written before the index type was recorded
    path.write_text(json.dumps(data), encoding="utf-8")
    index = rag.load_index(fake_settings.index_dir, settings=fake_settings, embedder=FakeEmbedder())
    assert index.store.vectors.kind == "flat"
    _agrees_with_numpy(index, "opening address")


def test_an_unknown_vector_index_is_one_clear_sentence(tmp_path: Path, fake_settings: rag.Settings):
    with pytest.raises(rag.InvalidQueryError, match="RAG_VECTOR_INDEX to one of auto, flat, hnsw"):
        rag.build_index(SEEDS, settings=replace(fake_settings, vector_index="ivf"), embedder=FakeEmbedder())


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_the_sorted_piece_ids_follow_adds_and_removals(kind: str):
    """The writer's sorted piece ids, kept in step rather than sorted again, always equal a fresh sort."""
    vectors = dense.new_vectors(8, kind, bits=PIECE_BITS)
    rng = np.random.default_rng(0)

    def add(chunk_ids: list[int]) -> None:
        vectors.add_chunks(np.asarray(chunk_ids), [rng.random((1 + chunk % 3, 8), dtype=np.float32) for chunk in chunk_ids])

    add([1, 2, 3, 4])
    assert len(vectors.sorted_ids()) == 2 + 3 + 1 + 2
    vectors.remove_chunks([2])
    add([5, 6])
    vectors.remove_chunks([1, 6])
    add([7])
    assert np.array_equal(vectors.sorted_ids(), np.sort(vectors.ids()))
    assert vectors.chunk_ids().tolist() == [3, 4, 5, 7]
    assert [len(dense.chunk_vectors(vectors, [chunk])[0]) for chunk in (3, 4, 5, 7)] == [1, 2, 3, 2]
