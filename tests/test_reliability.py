"""Bad input and damaged indexes: every file that cannot be used is named with its reason, every
unusable question or index gives one sentence that names the fix, and nothing ends in a traceback."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, FakeEmbedder
from pypdf import PdfWriter

import rag
from app.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, main

LATIN1 = "Café crème in Zürich: the façade of the Hôtel was repainted in März."
UTF16 = "Die Übersetzung der Maßnahmen für Kaliningrad wurde geprüft."
NESTING = 30


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _bad_corpus(folder: Path) -> dict[str, str]:
    """Good and bad files side by side; returns each bad file with a phrase its skip reason must contain."""
    shutil.copytree(SEEDS, folder)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\t\n   \n")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "latin1.txt").write_bytes(LATIN1.encode("latin-1"))
    (folder / "utf16.txt").write_bytes(UTF16.encode("utf-16"))  # with its BOM
    (folder / "invalid-utf8.md").write_bytes(b"Valid words about the tractor plant \x80\x81 in Kangso \xff county. " * 5)
    (folder / "huge.txt").write_bytes(b"word " * 600_000)  # 3 MB, over the 2 MB limit the test sets
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "locked.pdf").write_bytes(_encrypted_pdf())
    (folder / "secret.txt").write_text("A file nobody may read.")
    (folder / "secret.txt").chmod(0)
    os.mkfifo(folder / "pipe.txt")
    (folder / "loop.txt").symlink_to("loop.txt")
    (folder / "sub").mkdir()
    (folder / "sub" / "back").symlink_to("..")  # a folder loop: never followed
    (folder / ".hidden.txt").write_text("Hidden files are never indexed.")
    (folder / ".git").mkdir()
    (folder / ".git" / "config.txt").write_text("Hidden folders are never indexed.")
    deep = folder.joinpath(*["nest"] * NESTING)
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("The deepest note records the beekeeping cooperative in Ryongsong.")
    shutil.copyfile(folder / "001_b8239f67380c7682.txt", folder / "copy-of-001.txt")
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return {
        "binary.txt": "not text",
        "blank.md": "empty",
        "broken.pdf": "broken PDF",
        "empty.txt": "empty",
        "huge.txt": "over the 2 MB limit (RAG_MAX_FILE_BYTES)",
        "locked.pdf": "encrypted PDF",
        "loop.txt": "not a regular file",
        "picture.png": "unsupported file type .png",
        "pipe.txt": "not a regular file",
        "secret.txt": "permission denied",
    }



class CheapEmbedder(FakeEmbedder):
    """One direction per text length: thousands of chunks in milliseconds, for tests that do not rank by meaning."""

    def embed(self, texts, progress=False):  # type: ignore[no-untyped-def]
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        vectors[np.arange(len(texts)), [len(text) % self.dimension for text in texts]] = 1.0
        return vectors


@pytest.fixture
def unreadable_as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads a mode-000 file anyway, so there the read fails the way it does for everyone else."""
    if os.geteuid() != 0:
        return
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path.name == "secret.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)


def test_ingest_of_a_bad_corpus_indexes_the_good_files_and_names_each_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    fake_model: None, unreadable_as_root: None,
):
    folder, index_dir = tmp_path / "docs", tmp_path / "index"
    bad = _bad_corpus(folder)
    monkeypatch.setenv("RAG_MAX_FILE_BYTES", "2000000")
    assert main(["ingest", str(folder), "--index", str(index_dir)]) == EXIT_PARTIAL
    out = capsys.readouterr().out
    skipped = {line.split(":", 1)[0].split()[1]: line.split(":", 1)[1] for line in out.splitlines()
               if line.startswith("skipped ")}
    assert sorted(skipped) == sorted(bad)
    for name, phrase in bad.items():
        assert phrase in skipped[name], (name, skipped[name])
    good = ["000_0220f7c6bd20be88.txt", "001_b8239f67380c7682.txt", "invalid-utf8.md", "latin1.txt",
            "/".join(["nest"] * NESTING + ["deep.txt"]), "utf16.txt"]
    assert sorted(line.split()[1] for line in out.splitlines() if line.startswith("added ")) == sorted(good)
    assert "duplicate copy-of-001.txt (same bytes as 001_b8239f67380c7682.txt)" in out
    assert out.splitlines()[-1].startswith(
        "6 added, 0 updated, 0 removed, 0 unchanged, 1 duplicate skipped, 10 files skipped;")
    assert "hidden" not in out.lower() and ".git" not in out

    index = rag.load_index(index_dir, embedder=FakeEmbedder())
    texts = {document.doc_id: index.document_text(document.doc_id) for document in index.documents()}
    assert texts["latin1.txt"] == LATIN1 and texts["utf16.txt"] == UTF16
    assert "tractor plant" in texts["invalid-utf8.md"]
    assert index.search("Zürich façade Hôtel", k=1)[0].source == "latin1.txt"
    assert index.search("beekeeping cooperative Ryongsong", k=1)[0].source.endswith("deep.txt")
    assert main(["search", "Übersetzung der Maßnahmen", "--index", str(index_dir), "-k", "1"]) == EXIT_OK
    assert "utf16.txt" in capsys.readouterr().out
    # a second run changes nothing and still reports what it skips
    assert main(["ingest", str(folder), "--index", str(index_dir)]) == EXIT_PARTIAL
    assert "0 added, 0 updated, 0 removed, 6 unchanged" in capsys.readouterr().out


@pytest.mark.slow
def test_a_five_megabyte_single_line_is_chunked_under_a_raised_limit(tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    line = " ".join(f"token{number % 997}" for number in range(600_000))[:5_000_000]
    (folder / "one-line.txt").write_text(line)
    settings = rag.Settings(index_dir=str(tmp_path / "index"), model="fake", max_file_bytes=6_000_000)
    index = rag.build_index(folder, settings=settings, embedder=CheapEmbedder())
    assert index.last_ingest is not None and index.last_ingest.added == ["one-line.txt"]
    assert index.info().chunks > 4_000
    passage = index.search("token996 token0", k=1, mode="bm25")[0]
    assert line[passage.start : passage.end] == passage.text and passage.line_start == passage.line_end == 1


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 100_000])
@pytest.mark.parametrize("command", ["search", "ask"])
def test_empty_and_huge_questions_get_one_short_sentence(
    question: str, command: str, pristine_index: Path, capsys: pytest.CaptureFixture[str]
):
    assert main([command, question, "--index", str(pristine_index)]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1 and len(captured.err) < 120
    assert ("empty" in captured.err) if not question.strip() else ("100,000 characters" in captured.err)
    index = rag.load_index(pristine_index, embedder=FakeEmbedder())
    call = index.search if command == "search" else index.ask
    with pytest.raises(rag.InvalidQueryError, match="empty" if not question.strip() else "keep it under 2,000"):
        call(question)


def test_uploads_check_type_and_size_and_stay_inside_the_uploads_folder(tmp_path: Path, fake_settings: rag.Settings):
    index = rag.build_index(SEEDS, settings=replace(fake_settings, max_file_bytes=10_000), embedder=FakeEmbedder())
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "tool.exe").write_bytes(b"MZ\x90\x00")
    (incoming / "big.txt").write_text("word " * 5_000)
    with pytest.raises(rag.InvalidQueryError, match="unsupported file type"):
        index.add_files([incoming / "tool.exe"])
    with pytest.raises(rag.InvalidQueryError, match="big.txt is over the .* upload limit"):
        index.add_files([incoming / "big.txt"])
    escape = incoming / "..\\..\\evil.txt"  # a name a browser may send; "/" cannot be part of a file name
    escape.write_text("The evil upload mentions the walnut orchard of Pyoksong.")
    dotted = incoming / "sub" / ".." / "..outside.txt"
    (incoming / "sub").mkdir()
    dotted.write_text("Another upload about the chestnut grove of Sinchon.")
    before = {path for path in tmp_path.rglob("*") if "index" not in path.parts}
    report = index.add_files([str(escape), str(dotted)])
    assert {path for path in tmp_path.rglob("*") if "index" not in path.parts} == before
    uploads = index.path / "uploads"
    assert sorted(path.name for path in uploads.iterdir()) == ["evil.txt", "outside.txt"]
    assert report.added == ["uploads/evil.txt", "uploads/outside.txt"]
    assert sorted(path.name for path in index.path.iterdir() if not path.name.startswith("gen-")) == [
        ".lock", "manifest.json", "uploads"]
    assert index.search("walnut orchard Pyoksong", k=1)[0].source.startswith("uploads/")


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _edit_manifest(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(index_dir: Path) -> None:
        path = index_dir / "manifest.json"
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))
    return edit


def _generation(index_dir: Path) -> Path:
    return index_dir / json.loads((index_dir / "manifest.json").read_text())["generation"]


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated vectors.faiss": lambda index_dir: _truncate(_generation(index_dir) / "vectors.faiss"),
    "missing chunks.sqlite": lambda index_dir: (_generation(index_dir) / "chunks.sqlite").unlink(),
    "truncated chunks.sqlite": lambda index_dir: _truncate(_generation(index_dir) / "chunks.sqlite"),
    "garbage chunks.sqlite": lambda index_dir: (_generation(index_dir) / "chunks.sqlite").write_bytes(b"\x00junk" * 999),
    "missing bm25": lambda index_dir: shutil.rmtree(_generation(index_dir) / "bm25"),
    "garbage manifest.json": lambda index_dir: (index_dir / "manifest.json").write_text("{not json"),
    "manifest of a list": lambda index_dir: (index_dir / "manifest.json").write_text("[1, 2]"),
    "manifest without settings": _edit_manifest(lambda data: data.pop("settings")),
    "manifest without the model": _edit_manifest(lambda data: data["settings"].pop("model")),
    "manifest with a bad file list": _edit_manifest(lambda data: data.update(files="everything")),
    "manifest pointing outside": _edit_manifest(lambda data: data.update(generation="../../etc")),
    "manifest of another format": _edit_manifest(lambda data: data.update(format=99)),
    "manifest of another dimension": _edit_manifest(lambda data: data.update(dimension=768)),
    "manifest with a chunk count that lies": _edit_manifest(
        lambda data: next(iter(data["files"].values())).update(chunks=1)),
    "missing generation folder": lambda index_dir: shutil.rmtree(_generation(index_dir)),
    "a chunk id changed in bm25": lambda index_dir: _bump_last_id(_generation(index_dir) / "bm25" / "chunk_ids.npy"),
    "damaged chunks.sqlite pages": lambda index_dir: _scribble_pages(_generation(index_dir) / "chunks.sqlite"),
    "manifest with a bad store list": _edit_manifest(lambda data: data.update(store={"chunks.sqlite": {"sha256": 5}})),
}


def _scribble_pages(path: Path) -> None:
    """Overwrite the start of every page but the schema's: same size, so only SQLite's reads find it."""
    import sqlite3

    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    for offset in range(2 * page_size, len(data), page_size):
        data[offset + 8 : offset + 40] = b"\xff" * 32
    path.write_bytes(bytes(data))


def _bump_last_id(path: Path) -> None:
    ids = np.load(path)
    ids[-1] += 1000  # one flipped bit of a valid file: it loads, but names a chunk nobody holds
    np.save(path, ids)


@pytest.fixture(scope="module")
def pristine_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds under the default settings, embedded by ``FakeEmbedder``; copy it before damaging it."""
    path = tmp_path_factory.mktemp("pristine") / "index"
    rag.build_index(SEEDS, path, settings=rag.Settings(), embedder=FakeEmbedder())
    return path


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_index_is_one_sentence_naming_the_rebuild(
    damage: str, pristine_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_model: None
):
    index_dir = tmp_path / "index"
    shutil.copytree(pristine_index, index_dir)
    DAMAGE[damage](index_dir)
    for command in (["search", "opening address"], ["info"], ["ingest", str(SEEDS)]):
        assert main([*command, "--index", str(index_dir)]) == EXIT_ERROR, command
        captured = capsys.readouterr()
        assert captured.out == "", command
        assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, command
        assert "`rag ingest --rebuild`" in captured.err and "Traceback" not in captured.err, command
    assert main(["ingest", str(SEEDS), "--index", str(index_dir), "--rebuild"]) == EXIT_OK
    assert main(["search", "opening address", "--index", str(index_dir), "-k", "1"]) == EXIT_OK
    assert "[1]" in capsys.readouterr().out


def test_an_index_of_another_model_is_refused_not_searched(
    pristine_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    index_dir = tmp_path / "index"
    shutil.copytree(pristine_index, index_dir)
    monkeypatch.setenv("RAG_MODEL", "sentence-transformers/all-mpnet-base-v2")
    assert main(["search", "opening address", "--index", str(index_dir)]) == EXIT_ERROR
    error = capsys.readouterr().err
    assert "built with model 'all-MiniLM-L6-v2'" in error and "`rag ingest --rebuild`" in error
    monkeypatch.delenv("RAG_MODEL")
    _edit_manifest(lambda data: data["settings"].update(model="not-installed-model"))(index_dir)
    assert main(["search", "opening address", "--index", str(index_dir), "--mode", "dense"]) == EXIT_ERROR
    error = capsys.readouterr().err
    assert error.startswith("error: Cannot load embedding model 'not-installed-model'") and error.count("\n") == 1
    assert main(["ingest", str(SEEDS), "--index", str(index_dir)]) == EXIT_ERROR
    assert "`rag ingest --rebuild`" in capsys.readouterr().err


def test_a_rebuild_keeps_the_uploaded_documents(tmp_path: Path, fake_settings: rag.Settings):
    rag.build_index(SEEDS, settings=fake_settings, embedder=FakeEmbedder())
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "apiary.txt").write_text("The Hamhung apiary doubled its honey harvest in 2025.\n", encoding="utf-8")
    rag.load_index(fake_settings.index_dir, settings=fake_settings, embedder=FakeEmbedder()).add_files(
        [incoming / "apiary.txt"])
    rebuilt = rag.build_index(SEEDS, settings=fake_settings, embedder=FakeEmbedder(), rebuild=True)
    assert "uploads/apiary.txt" in {document.doc_id for document in rebuilt.documents()}
    assert rebuilt.search("apiary honey harvest", k=1, mode="bm25")[0].source == "uploads/apiary.txt"
    assert rebuilt.last_ingest is not None and "uploads/apiary.txt" in rebuilt.last_ingest.added


def test_an_empty_or_emptied_folder_never_wipes_the_index(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          fake_model: None):
    index_dir = tmp_path / "index"
    assert main(["ingest", str(SEEDS), "--index", str(index_dir)]) == EXIT_OK
    empty = tmp_path / "empty"
    empty.mkdir()
    capsys.readouterr()
    assert main(["ingest", str(empty), "--index", str(index_dir)]) == EXIT_ERROR
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "keeps its 2 documents" in error and "Traceback" not in error
    assert len(rag.load_index(index_dir, embedder=FakeEmbedder()).documents()) == 2


def test_undecodable_question_bytes_and_odd_index_paths_work(tmp_path: Path, fake_settings: rag.Settings):
    index_dir = tmp_path / "odd #1 ?x 100%"
    index = rag.build_index(SEEDS, index_dir, settings=replace(fake_settings, index_dir=str(index_dir)),
                            embedder=FakeEmbedder())
    assert [path.name for path in tmp_path.iterdir()] == ["odd #1 ?x 100%"]  # SQLite made no stray file beside it
    question = b"Who opened \xff\xfe the course?".decode("utf-8", "surrogateescape")  # as argv gives them
    assert index.search(question, k=1)[0].source in {"000_0220f7c6bd20be88.txt", "001_b8239f67380c7682.txt"}
    assert index.ask(question).text


def test_an_upload_never_replaces_another_document_of_the_same_name(tmp_path: Path, fake_settings: rag.Settings):
    index = rag.build_index(SEEDS, settings=fake_settings, embedder=FakeEmbedder())
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    for folder, text in ((alice, "Alice's notes: the orchard yields walnuts.\n"), (bob, "Bob's notes: the mine yields coal.\n")):
        folder.mkdir()
        (folder / "notes.txt").write_text(text, encoding="utf-8")
    assert index.add_files([alice / "notes.txt"]).added == ["uploads/notes.txt"]
    assert index.add_files([bob / "notes.txt"]).added == ["uploads/notes (2).txt"]
    again = index.add_files([alice / "notes.txt"])  # the same file again is the same document
    assert again.added == [] and again.updated == [] and again.unchanged == ["uploads/notes.txt"]
    assert index.search("walnuts orchard", k=1, mode="bm25")[0].source == "uploads/notes.txt"
    assert index.search("coal mine", k=1, mode="bm25")[0].source == "uploads/notes (2).txt"


def test_rag_verify_finds_a_flipped_byte_that_opening_cannot(pristine_index: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str], fake_model: None):
    index_dir = tmp_path / "index"
    shutil.copytree(pristine_index, index_dir)
    assert main(["verify", "--index", str(index_dir)]) == EXIT_OK
    assert "is intact" in capsys.readouterr().out
    vectors = _generation(index_dir) / "vectors.faiss"
    data = bytearray(vectors.read_bytes())
    data[len(data) // 2] ^= 1  # same size: only the checksum can tell
    vectors.write_bytes(bytes(data))
    assert main(["verify", "--index", str(index_dir)]) == EXIT_ERROR
    error = capsys.readouterr().err
    assert "vectors.faiss does not hold what was written" in error and "`rag ingest --rebuild`" in error
    vectors.write_bytes(bytes(data) + b"\0")  # another size: every open refuses it
    assert main(["search", "opening address", "--index", str(index_dir)]) == EXIT_ERROR
    assert "vectors.faiss has" in capsys.readouterr().err


def test_a_full_disk_is_named_before_any_embedding_and_loses_nothing(
    tmp_path: Path, fake_settings: rag.Settings, monkeypatch: pytest.MonkeyPatch
):
    import collections

    rag.build_index(SEEDS, settings=fake_settings, embedder=FakeEmbedder())
    more = tmp_path / "more"
    shutil.copytree(SEEDS, more)
    (more / "harvest.txt").write_text("The Kangso farm doubled its harvest.\n" * 2000, encoding="utf-8")
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 50_000, 50_000))  # 50 kB left
    embedder = FakeEmbedder()
    with pytest.raises(rag.RagError, match=r"Not enough free space .* free some space or pass --index"):
        rag.build_index(more, settings=fake_settings, embedder=embedder)
    assert embedder.calls == []
    monkeypatch.undo()
    assert len(rag.load_index(fake_settings.index_dir, settings=fake_settings, embedder=FakeEmbedder()).documents()) == 2


def test_an_index_path_that_cannot_be_a_folder_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                fake_model: None):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    for index_dir in (blocker, blocker / "inside"):
        assert main(["ingest", str(SEEDS), "--index", str(index_dir)]) == EXIT_ERROR
        error = capsys.readouterr().err
        assert error.startswith(f"error: Cannot write the index at {index_dir}") and error.count("\n") == 1
    assert blocker.read_text(encoding="utf-8") == "not a folder"
