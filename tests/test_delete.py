"""Deleting one document: gone from the catalogue and from every kind of search, on disk as in memory; an
uploaded file goes with it; a folder document comes back at the next ingest; mistakes are one sentence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SEEDS, FakeEmbedder

import rag
from rag.delete import is_upload
from rag.store import read_manifest

ORCHIDS = "The Quillwort orchid census counted 212 flowering plants in the Pindus valley.\n"
SEED = "000_0220f7c6bd20be88.txt"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The seeds plus one document whose words no seed shares."""
    folder = tmp_path / "docs"
    shutil.copytree(SEEDS, folder)
    (folder / "orchids.txt").write_text(ORCHIDS, encoding="utf-8")
    return folder


def build(folder: Path, index_dir: Path) -> rag.Index:
    return rag.build_index(folder, index_dir, settings=rag.Settings(model="fake"), embedder=FakeEmbedder())


def doc_ids(passages: list[rag.Passage]) -> set[str]:
    return {passage.doc_id for passage in passages}


def test_a_deleted_document_leaves_the_catalogue_and_every_search(corpus: Path, tmp_path: Path):
    index = build(corpus, tmp_path / "index")
    listed = {document.doc_id: document for document in index.documents()}
    assert index.search("Quillwort orchid census", k=1, mode="bm25")[0].doc_id == "orchids.txt"
    chunks_before = index.info().chunks

    removed = index.delete_document("orchids.txt")

    assert removed == listed["orchids.txt"]  # what was deleted, as the catalogue listed it
    assert [document.doc_id for document in index.documents()] == sorted(set(listed) - {"orchids.txt"})
    assert index.info().chunks == chunks_before - removed.n_chunks
    for mode in ("bm25", "dense", "hybrid"):
        assert "orchids.txt" not in doc_ids(index.search("Quillwort orchid census Pindus", k=50, mode=mode)), mode
    assert doc_ids(index.search("short course for chief secretaries", k=10)) == set(listed) - {"orchids.txt"}
    reopened = rag.load_index(tmp_path / "index", settings=rag.Settings(model="fake"), embedder=FakeEmbedder())
    assert [document.doc_id for document in reopened.documents()] == [document.doc_id for document in index.documents()]
    assert "orchids.txt" not in read_manifest(tmp_path / "index").files


def test_deleting_an_upload_deletes_its_file_and_only_that(corpus: Path, tmp_path: Path):
    index = build(corpus, tmp_path / "index")
    first, second = tmp_path / "bees.md", tmp_path / "wasps.md"
    first.write_text("# Bees\n\nThe Carniolan hive at Ostrava swarmed on 3 May.\n", encoding="utf-8")
    second.write_text("# Wasps\n\nA hornet nest was found in the Brno orchard shed.\n", encoding="utf-8")
    index.add_files([first, second])
    uploads = tmp_path / "index" / "uploads"
    assert sorted(path.name for path in uploads.iterdir()) == ["bees.md", "wasps.md"]
    assert is_upload("uploads/bees.md") and not is_upload("orchids.txt")

    index.delete_document("uploads/bees.md")

    assert sorted(path.name for path in uploads.iterdir()) == ["wasps.md"]
    assert "uploads/bees.md" not in doc_ids(index.search("Carniolan hive Ostrava", k=50, mode="bm25"))
    assert index.search("hornet nest Brno", k=1, mode="bm25")[0].doc_id == "uploads/wasps.md"
    assert (corpus / "orchids.txt").exists()


def test_a_folder_document_comes_back_at_the_next_ingest_of_its_folder(corpus: Path, tmp_path: Path):
    index = build(corpus, tmp_path / "index")
    before = index.documents()
    index.delete_document(SEED)
    assert (corpus / SEED).exists()  # deleting from the index never touches the folder

    report = index.ingest(corpus)

    assert report.added == [SEED]
    assert index.documents() == before


def test_an_unknown_document_is_one_sentence_and_changes_nothing(corpus: Path, tmp_path: Path):
    index = build(corpus, tmp_path / "index")
    generation = read_manifest(tmp_path / "index").generation
    with pytest.raises(rag.InvalidQueryError) as error:
        index.delete_document("seeds/orchids.txt")
    message = str(error.value)
    assert message.startswith("No document 'seeds/orchids.txt' in the index") and "\n" not in message
    assert read_manifest(tmp_path / "index").generation == generation
    assert len(index.documents()) == 3


def test_the_last_document_stays(tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "orchids.txt").write_text(ORCHIDS, encoding="utf-8")
    index = build(folder, tmp_path / "index")
    with pytest.raises(rag.InvalidQueryError, match="only document in the index"):
        index.delete_document("orchids.txt")
    assert [document.doc_id for document in index.documents()] == ["orchids.txt"]


def test_the_catalogue_counts_each_documents_sections(tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "survey.md").write_text("# Glacier Survey\n\n## Findings\n\nThe glacier retreated 41 metres.\n\n"
                                      "## Methods\n\nSurveyors measured the snout with GPS.\n", encoding="utf-8")
    (folder / "orchids.txt").write_text(ORCHIDS, encoding="utf-8")
    index = build(folder, tmp_path / "index")
    sections = {document.doc_id: document.n_sections for document in index.documents()}
    assert sections == {"orchids.txt": 0, "survey.md": 2}
