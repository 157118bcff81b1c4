"""One contract, two stores: every test here runs against the local store and against PostgreSQL.

The PostgreSQL is real (the bundled wheel, started once per session, one new database per test).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, FakeEmbedder

import rag
from rag.chunking import dense_texts
from rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, RagError
from rag.store.pieces import MAX_PIECES

FIRST, SECOND = "000_0220f7c6bd20be88.txt", "001_b8239f67380c7682.txt"


@pytest.fixture(params=["local", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> rag.Settings:
    """Settings for an empty index in the parametrized store, with the fake model."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    return rag.Settings(index_dir=str(tmp_path / "index"), model="fake", store_url=url)


def build(folder: Path, settings: rag.Settings, embedder: FakeEmbedder | None = None) -> rag.Index:
    return rag.build_index(folder, settings=settings, embedder=embedder or FakeEmbedder())


def test_build_search_and_info(settings: rag.Settings) -> None:
    index = build(SEEDS, settings)
    info = index.info()
    assert (info.documents, info.model, info.dimension) == (2, "fake", 64) and info.chunks > 10
    assert info.store.startswith("postgresql://" if settings.store_url else "local ")
    for mode in ("hybrid", "dense", "bm25"):
        passages = index.search("Who made the opening address at the first short course?", k=3, mode=mode)
        assert [passage.rank for passage in passages] == [1, 2, 3]
        text = (SEEDS / passages[0].source).read_text(encoding="utf-8")
        assert text[passages[0].start : passages[0].end] == passages[0].text  # offsets come back exact


def test_incremental_ingest_embeds_only_what_changed(settings: rag.Settings, seeds_copy: Path) -> None:
    embedder = FakeEmbedder()
    index = build(seeds_copy, settings, embedder)
    first_ids = index.store.chunk_ids_of([FIRST])
    embedded = sum(embedder.calls)

    unchanged = index.ingest(seeds_copy)
    assert (unchanged.changed, unchanged.chunks_embedded, sum(embedder.calls)) == (False, 0, embedded)

    with (seeds_copy / SECOND).open("a", encoding="utf-8") as handle:
        handle.write("\n\nThe orchid greenhouse opened its doors to the delegates on Friday.\n")
    report = index.ingest(seeds_copy)
    assert report.updated == [SECOND] and 0 < report.chunks_embedded <= 2  # the edited chunk, not the whole file
    assert index.store.chunk_ids_of([FIRST]) == first_ids  # the other file's chunks are untouched
    assert index.search("orchid greenhouse delegates", k=1, mode="bm25")[0].source == SECOND

    (seeds_copy / FIRST).unlink()
    assert index.ingest(seeds_copy).removed == [FIRST]
    assert [document.doc_id for document in index.documents()] == [SECOND]
    assert {passage.source for passage in index.search("short course", k=10)} == {SECOND}
    assert index.info().chunks == len(index.store.chunk_ids_of([SECOND]))


@pytest.mark.parametrize("unit", ["sentence", "chunk"])
def test_dense_search_scores_each_chunk_by_its_best_sentence(settings: rag.Settings, unit: str) -> None:
    """The store's dense ranking against an oracle that embeds every chunk's texts again and takes the max."""
    index = build(SEEDS, replace(settings, dense_unit=unit))
    store, embedder = index.store, FakeEmbedder()
    query = embedder.embed(["Who made the opening address at the first short course?"])[0]
    for doc_ids in (None, [SECOND]):
        ids = store.chunk_ids_of(doc_ids or [FIRST, SECOND])
        passages = store.passages(ids)
        texts = {chunk_id: dense_texts(passages[chunk_id].title, passages[chunk_id].section, passages[chunk_id].clean_text,
                                       unit, MAX_PIECES) for chunk_id in ids}
        oracle = {chunk_id: float((embedder.embed(found) @ query).max()) for chunk_id, found in texts.items()}
        assert (unit == "chunk") == all(len(found) == 1 for found in texts.values())
        found, scores = store.dense_search(query, 6, doc_ids)
        assert len(set(found.tolist())) == 6
        assert np.allclose(scores, sorted(oracle.values(), reverse=True)[:6], atol=1e-5)
        assert np.allclose(store.dense_scores(query, found), [oracle[chunk_id] for chunk_id in found.tolist()], atol=1e-5)


def test_source_filters_keep_only_those_files(settings: rag.Settings) -> None:
    index = build(SEEDS, settings)
    for mode in ("hybrid", "dense", "bm25"):
        passages = index.search("short course opening address", k=4, mode=mode, sources=[f"seeds/{FIRST}"])
        assert passages and {passage.source for passage in passages} == {FIRST}


def test_uploads_join_the_index_and_delete_document_removes_them(settings: rag.Settings, tmp_path: Path) -> None:
    index = build(SEEDS, settings)
    upload = tmp_path / "notes.md"
    upload.write_text("# Notes\n\nThe zeppelin hangar stores three airships.\n", encoding="utf-8")
    assert index.add_files([upload]).added == ["uploads/notes.md"]
    assert index.search("zeppelin hangar airships", k=1)[0].source == "uploads/notes.md"
    assert index.ingest(SEEDS).removed == []  # a folder ingest keeps uploads

    removed = index.delete_document("uploads/notes.md")
    assert removed.doc_id == "uploads/notes.md"
    assert "uploads/notes.md" not in [document.doc_id for document in index.documents()]
    assert not (Path(settings.index_dir) / "uploads" / "notes.md").exists()
    assert all(passage.source != "uploads/notes.md" for passage in index.search("zeppelin hangar airships", k=5))


def test_settings_that_built_the_index_are_enforced(settings: rag.Settings) -> None:
    build(SEEDS, settings)
    with pytest.raises(IndexMismatchError, match="rebuild"):
        build(SEEDS, replace(settings, chunk_size=300))
    with pytest.raises(IndexMismatchError, match="model"):
        rag.Index(replace(settings, model="other"), FakeEmbedder())
    rebuilt = rag.build_index(SEEDS, settings=replace(settings, chunk_size=300), embedder=FakeEmbedder(), rebuild=True)
    assert rebuilt.info().chunk_size == 300


def test_a_missing_index_is_one_sentence(settings: rag.Settings) -> None:
    with pytest.raises(IndexNotFoundError, match="rag ingest") as caught:
        rag.load_index(settings=settings, embedder=FakeEmbedder())
    assert "\n" not in str(caught.value)


def test_a_damaged_index_is_one_sentence(settings: rag.Settings) -> None:
    index = build(SEEDS, settings)
    if settings.store_url:
        import psycopg

        with psycopg.connect(settings.store_url, autocommit=True) as connection:
            connection.execute("DROP TABLE rag_postings CASCADE")
    else:
        generation = next(Path(settings.index_dir).glob("gen-*"))
        shutil.rmtree(generation / "bm25")
    with pytest.raises(IndexCorruptError, match="rebuild") as caught:
        rag.load_index(settings=settings, embedder=FakeEmbedder()).search("short course", mode="bm25")
    assert "damaged" in str(caught.value) and "\n" not in str(caught.value)
    del index


def test_an_unreachable_database_is_one_sentence(tmp_path: Path) -> None:
    settings = rag.Settings(index_dir=str(tmp_path / "index"), model="fake",
                            store_url=f"postgresql://someone:secret@/rag?host={tmp_path}/nowhere")
    for attempt in (lambda: rag.load_index(settings=settings, embedder=FakeEmbedder()),
                    lambda: build(SEEDS, settings)):
        with pytest.raises(RagError, match="Cannot reach the PostgreSQL database") as caught:
            attempt()
        assert "\n" not in str(caught.value) and "secret" not in str(caught.value)
