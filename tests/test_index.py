"""The index as users see it: offsets, modes, persistence, incremental ingest, oracles."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, FakeEmbedder

import rag
from rag.store import read_manifest
from rag.store.lexical import tokenize


def file_text(folder: Path, source: str) -> str:
    return (folder / source).read_bytes().decode("utf-8")


def test_every_chunk_of_the_seeds_reproduces_its_text_from_the_file(seed_index: rag.Index):
    rows = seed_index.store.passages(seed_index.store.chunk_ids_of([d.doc_id for d in seed_index.documents()]))
    assert len(rows) == seed_index.info().chunks > 10
    for row in rows.values():
        text = file_text(SEEDS, row.doc_id)
        assert text[row.start : row.end] == row.text
        lines = text.split("\n")
        assert row.text.split("\n")[0] in lines[row.line_start - 1]
        assert row.text.split("\n")[-1] in lines[row.line_end - 1]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_mode_finds_the_opening_address_of_the_second_course(seed_index: rag.Index, mode: str):
    # dense alone ranks it 7th: in two articles on one topic every sentence is near the question, and names
    # are what BM25 is for
    k = 10 if mode == "dense" else 5
    passages = seed_index.search("Who gave the opening address at the second short course in 2024?", k=k, mode=mode)
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert all(a.score >= b.score for a, b in zip(passages, passages[1:]))
    assert any("Jo Yong Won" in p.text and p.source.startswith("000_") for p in passages)
    for passage in passages:
        assert file_text(SEEDS, passage.source)[passage.start : passage.end] == passage.text


def test_hybrid_ranks_the_answer_first_for_course_specific_questions(seed_index: rag.Index):
    first = seed_index.search("Who made the opening address at the first course in 2021?", k=1)[0]
    assert "kim jong un" in first.text.lower() and "opening address" in first.text.lower()
    lectures = seed_index.search("Which people lectured at the 2024 course?", k=3)
    assert any("Ri Il Hwan" in passage.text for passage in lectures)


def test_passages_carry_titles_dates_and_lines(seed_index: rag.Index):
    passage = seed_index.search("Ri Il Hwan Kim Jae Ryong lectures", k=1)[0]
    assert passage.title == "Second Short Course for Chief Secretaries for City and County Party Committees Held"
    assert passage.date == "2024-01-30"
    assert passage.source == passage.doc_id == "000_0220f7c6bd20be88.txt"
    assert 1 <= passage.line_start <= passage.line_end


def test_source_filter_keeps_only_that_file(seed_index: rag.Index):
    for mode in ("hybrid", "dense", "bm25"):
        passages = seed_index.search("opening address", k=4, mode=mode, sources=["001_b8239f67380c7682.txt"])
        assert passages and {p.source for p in passages} == {"001_b8239f67380c7682.txt"}


def test_a_source_is_found_as_typed_or_named_in_one_sentence(seed_index: rag.Index):
    typed = seed_index.search("opening address", k=2, sources=["seeds/000_0220f7c6bd20be88.txt"])
    assert typed and {p.source for p in typed} == {"000_0220f7c6bd20be88.txt"}
    with pytest.raises(rag.InvalidQueryError, match="sources are named as ingested: 000_0220f7c6bd20be88.txt"):
        seed_index.search("opening address", sources=["missing.txt"])


def test_dense_search_agrees_with_a_numpy_oracle(seed_index: rag.Index):
    """Each chunk scores as its best sentence: the stored rows of a chunk, one per sentence, maxed in numpy."""
    store = seed_index.store
    ids = np.asarray(store.chunk_ids_of([d.doc_id for d in seed_index.documents()]))
    query = seed_index.embed(["What did the participants study before the course?"])[0]
    question = "What did the participants study before the course?"
    best = [float((store.vectors_of([chunk_id]) @ query).max()) for chunk_id in ids]
    assert all(len(store.vectors_of([chunk_id])) >= 1 for chunk_id in ids) and len(store.vectors_of(ids)) > len(ids)
    expected = ids[np.argsort(-np.asarray(best), kind="stable")[:5]]
    passages = seed_index.search(question, k=5, mode="dense")
    assert [p.chunk_id for p in passages] == list(expected)


def test_save_then_load_gives_identical_results(seed_index: rag.Index, embedder):
    reopened = rag.load_index(seed_index.path, embedder=embedder)
    for mode in ("hybrid", "dense", "bm25"):
        question = "Which school's department heads gave lectures?"
        assert reopened.search(question, k=5, mode=mode) == seed_index.search(question, k=5, mode=mode)


def test_editing_one_paragraph_of_a_long_file_embeds_only_its_chunks(tmp_path: Path, fake_settings: rag.Settings):
    seed = (SEEDS / "001_b8239f67380c7682.txt").read_text(encoding="utf-8").split("\n\n")
    paragraphs = [f"Paragraph {number}: {seed[number % len(seed)]}" for number in range(400)]
    folder = tmp_path / "long"
    folder.mkdir()
    book = folder / "book.txt"
    book.write_text("\n\n".join(paragraphs), encoding="utf-8")
    embedder = FakeEmbedder()
    first = rag.build_index(folder, settings=fake_settings, embedder=embedder).last_ingest
    paragraphs[200] = "Paragraph 200: The tractor plant in Kangso county finished its new assembly line in March."
    book.write_text("\n\n".join(paragraphs), encoding="utf-8")
    index = rag.build_index(folder, settings=fake_settings, embedder=embedder)
    assert first.chunks_embedded > 100 and 1 <= index.last_ingest.chunks_embedded <= 3
    assert "tractor plant" in index.search("tractor plant assembly line Kangso", k=1, mode="bm25")[0].text
    rebuilt = rag.build_index(folder, tmp_path / "rebuilt", settings=fake_settings, embedder=embedder)
    ids, fresh_ids = index.store.chunk_ids_of(["book.txt"]), rebuilt.store.chunk_ids_of(["book.txt"])
    assert [index.store.passages(ids)[i].text for i in ids] == [rebuilt.store.passages(fresh_ids)[i].text for i in fresh_ids]
    assert np.array_equal(index.store.vectors_of(ids), rebuilt.store.vectors_of(fresh_ids))  # reused = recomputed


def test_incremental_ingest_embeds_only_what_changed(seeds_copy: Path, fake_settings: rag.Settings):
    embedder = FakeEmbedder()
    index = rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    assert sorted(index.last_ingest.added) == sorted(p.name for p in seeds_copy.iterdir())
    before = index.info().chunks

    again = rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    assert again.last_ingest.chunks_embedded == 0 and not again.last_ingest.changed
    assert len(again.last_ingest.unchanged) == 2

    (seeds_copy / "new.md").write_text("# Harvest report\n\nThe rice harvest in Kangso county rose by ten percent.\n")
    shutil.copy(seeds_copy / "000_0220f7c6bd20be88.txt", seeds_copy / "copy-of-000.txt")
    changed = seeds_copy / "001_b8239f67380c7682.txt"
    changed.write_text(changed.read_text() + "\nA closing paragraph about the tractor plant.\n")
    report = rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder).last_ingest
    assert report.added == ["new.md"]
    assert report.updated == ["001_b8239f67380c7682.txt"]
    assert report.duplicates == {"copy-of-000.txt": "000_0220f7c6bd20be88.txt"}
    assert report.unchanged == ["000_0220f7c6bd20be88.txt"]
    new_chunks = read_manifest(Path(fake_settings.index_dir)).files
    assert new_chunks["new.md"]["chunks"] < report.chunks_embedded <= new_chunks["new.md"]["chunks"] + 2  # the tail

    (seeds_copy / "new.md").unlink()
    report = rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder).last_ingest
    assert report.removed == ["new.md"] and report.chunks_embedded == 0
    index = rag.load_index(fake_settings.index_dir, settings=fake_settings, embedder=embedder)
    assert index.search("harvest Kangso", mode="bm25") == [] or all(p.source != "new.md" for p in index.search("harvest Kangso"))
    assert index.info().chunks > before - 1
    tractor = index.search("tractor plant closing paragraph", k=1, mode="bm25")[0]
    assert tractor.source == "001_b8239f67380c7682.txt"
    assert changed.read_text()[tractor.start : tractor.end] == tractor.text


def test_a_deleted_file_loses_its_chunks_and_others_keep_theirs(seeds_copy: Path, fake_settings: rag.Settings):
    embedder = FakeEmbedder()
    rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    (seeds_copy / "000_0220f7c6bd20be88.txt").unlink()
    index = rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    assert index.last_ingest.removed == ["000_0220f7c6bd20be88.txt"]
    assert {d.doc_id for d in index.documents()} == {"001_b8239f67380c7682.txt"}
    assert len(index.store.vectors.chunk_ids()) == index.info().chunks
    assert all(p.source == "001_b8239f67380c7682.txt" for p in index.search("Jo Yong Won", k=10, mode="bm25"))


def test_opening_with_another_model_or_chunking_is_a_clear_error(seeds_copy: Path, fake_settings: rag.Settings):
    rag.build_index(seeds_copy, settings=fake_settings, embedder=FakeEmbedder())
    with pytest.raises(rag.IndexMismatchError, match="model"):
        rag.Index(replace(fake_settings, model="another-model"), FakeEmbedder())
    with pytest.raises(rag.IndexMismatchError, match="--rebuild"):
        rag.build_index(seeds_copy, settings=replace(fake_settings, chunk_size=123, chunk_overlap=20), embedder=FakeEmbedder())
    rebuilt = rag.build_index(seeds_copy, settings=replace(fake_settings, chunk_size=300), embedder=FakeEmbedder(),
                              rebuild=True)
    assert rebuilt.info().chunk_size == 300


def test_manifest_records_model_dimension_settings_and_hashes(seed_index: rag.Index):
    manifest = json.loads((seed_index.path / "manifest.json").read_text())
    assert manifest["settings"]["model"] == "all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert set(manifest["files"]) == {"000_0220f7c6bd20be88.txt", "001_b8239f67380c7682.txt"}
    assert all(len(entry["hash"]) == 64 for entry in manifest["files"].values())


def test_bad_questions_and_missing_indexes_are_clear_errors(seed_index: rag.Index, tmp_path: Path):
    with pytest.raises(rag.InvalidQueryError, match="empty"):
        seed_index.search("   ")
    with pytest.raises(rag.InvalidQueryError, match="characters"):
        seed_index.search("why " * 30_000)
    with pytest.raises(rag.InvalidQueryError, match="mode"):
        seed_index.search("who", mode="fuzzy")
    with pytest.raises(rag.IndexNotFoundError, match="rag ingest"):
        rag.load_index(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(rag.EmptyCorpusError):
        rag.build_index(tmp_path / "empty", tmp_path / "index", embedder=FakeEmbedder())


def test_an_open_index_sees_an_ingest_made_by_another_writer(seeds_copy: Path, fake_settings: rag.Settings):
    embedder = FakeEmbedder()
    rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    serving = rag.load_index(fake_settings.index_dir, settings=fake_settings, embedder=embedder)
    assert serving.search("tractor harvest Kangso", mode="bm25") == []
    (seeds_copy / "farm.md").write_text("The tractor harvest in Kangso county rose.")
    rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    assert serving.search("tractor harvest Kangso", mode="bm25")[0].source == "farm.md"


def test_a_dotted_name_finds_its_own_entry_not_its_namesake(tmp_path: Path, fake_settings: rag.Settings):
    docs = tmp_path / "api"
    docs.mkdir()
    (docs / "json.md").write_text(
        "# json\n\n## json.load(fp)\n\nRead a document from a file and load it; raises an error on bad input.\n\n"
        "## json.loads(s)\n\nParse a string. Invalid input raises JSONDecodeError.\n\n"
        "## json.dump(obj, fp)\n\nWrite obj to fp and load nothing back.\n", encoding="utf-8")
    (docs / "versions.md").write_text(
        "# Changes\n\nAdded in Python 3.7: breakpoint().\n\nAdded in Python 3.11: tomllib, with 3 parsers and 11 tests.\n",
        encoding="utf-8")
    index = rag.build_index(docs, settings=fake_settings, embedder=FakeEmbedder())
    assert "JSONDecodeError" in index.search("What does json.loads raise?", k=1, mode="bm25")[0].text
    assert "tomllib" in index.search("What came in Python 3.11?", k=1, mode="bm25")[0].text


def test_a_chain_of_dots_is_not_a_name():
    from rag.store.lexical import tokenize

    chain = ".".join(["part"] * 200_000)  # every tail of it kept would be 10^11 characters
    assert tokenize(chain) == ["part"] * 200_000
    assert tokenize("os.path.join") == ["os", "path", "join", "os.path.join", "path.join"]


def test_bm25_tokenizes_only_new_chunks_and_ranks_like_a_fresh_build(seeds_copy: Path, fake_settings: rag.Settings,
                                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import rag.store.local_writer as local

    embedder = FakeEmbedder()
    rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    tokenized: list[str] = []
    monkeypatch.setattr(local, "tokenize", lambda text: tokenized.append(text) or tokenize(text))
    (seeds_copy / "new.md").write_text("# Harvest report\n\nThe rice harvest in Kangso county rose by ten percent.\n")
    index = rag.build_index(seeds_copy, settings=fake_settings, embedder=embedder)
    assert len(tokenized) == index.last_ingest.chunks_embedded == 1  # the new chunk only, not the 15 others
    fresh = rag.build_index(seeds_copy, tmp_path / "fresh", settings=fake_settings, embedder=embedder)
    for question in ("harvest in Kangso county", "opening address of the second short course", "os.path.join"):
        ours, theirs = index.search(question, k=5, mode="bm25"), fresh.search(question, k=5, mode="bm25")
        assert [(p.source, p.start, round(p.score, 5)) for p in ours] == [(p.source, p.start, round(p.score, 5))
                                                                          for p in theirs]
