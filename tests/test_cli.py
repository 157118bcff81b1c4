"""The CLI in-process: ``main(argv)`` returns an exit code and prints literal, useful output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS

from app.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, main


@pytest.fixture
def index_dir(tmp_path: Path, seeds_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cli-index"
    assert main(["ingest", str(seeds_copy), "--index", str(path)]) == EXIT_OK
    return path


def test_ingest_prints_what_changed_and_info_describes_the_index(index_dir: Path, seeds_copy: Path, capsys):
    capsys.readouterr()
    (seeds_copy / "note.md").write_text("A note about the harvest in Kangso county.")
    (seeds_copy / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    assert main(["ingest", str(seeds_copy), "--index", str(index_dir)]) == EXIT_PARTIAL
    out = capsys.readouterr().out
    assert "added     note.md" in out
    assert "skipped   bad.pdf: broken PDF" in out
    assert "1 added, 0 updated, 0 removed, 2 unchanged" in out
    assert main(["info", "--index", str(index_dir)]) == EXIT_OK
    info = capsys.readouterr().out
    assert "documents      3" in info and "all-MiniLM-L6-v2" in info
    assert "Second Short Course for Chief Secretaries for City and County Party Committees Held (2024-01-30" in info


def test_search_json_and_text(index_dir: Path, capsys):
    capsys.readouterr()
    assert main(["search", "Ri Il Hwan Kim Jae Ryong lectures", "--index", str(index_dir), "-k", "2", "--json"]) == 0
    passages = json.loads(capsys.readouterr().out)
    assert len(passages) == 2 and passages[0]["rank"] == 1
    assert "Ri Il Hwan" in passages[0]["text"]
    assert {"source", "title", "start", "end", "line_start", "line_end", "score", "chunk_id"} <= set(passages[0])
    assert main(["search", "Ri Il Hwan", "--index", str(index_dir), "--mode", "bm25", "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] ") and "000_0220f7c6bd20be88.txt, lines" in out


def test_expected_failures_are_one_sentence_and_a_nonzero_code(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "who?", "--index", str(tmp_path / "missing")]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("error: No index at") and "Traceback" not in err and err.count("\n") == 1
    (tmp_path / "empty").mkdir()
    assert main(["ingest", str(tmp_path / "empty"), "--index", str(tmp_path / "i")]) == EXIT_ERROR
    assert "No readable documents" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path / "nope")]) == EXIT_ERROR
    assert "does not exist" in capsys.readouterr().err
    assert main(["search", "x", "--mode", "fuzzy"]) == EXIT_USAGE


def test_python_dash_m_rag_runs_the_cli(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "rag", "info", "--index", str(tmp_path / "none")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_ERROR and "No index at" in result.stderr


def test_importing_rag_stays_light():
    code = "import sys, rag; print(sorted(m for m in ('torch', 'faiss', 'gradio', 'sentence_transformers') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize(("options", "message"), [(["--chunk-size", "0"], "at least 50"),
                                                  (["--chunk-size", "500", "--chunk-overlap", "600"], "smaller than")])
def test_impossible_chunking_is_one_sentence_and_leaves_no_index(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 options: list[str], message: str) -> None:
    code = main(["ingest", str(SEEDS), "--index", str(tmp_path / "index"), *options])
    assert code == EXIT_ERROR and message in capsys.readouterr().err
    assert not (tmp_path / "index").exists()


def test_a_setting_that_is_not_a_number_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_K", "abc")
    assert main(["info", "--index", str(tmp_path)]) == EXIT_ERROR
    assert capsys.readouterr().err.strip() == "error: RAG_K='abc' is not a whole number; set it like RAG_K=5 or unset it."


def test_chat_on_a_busy_or_impossible_port_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["chat", "--index", str(tmp_path / "none"), "--port", str(port)]) == EXIT_ERROR
        error = capsys.readouterr().err
        assert error.startswith(f"error: Port {port} on 127.0.0.1 is in use") and error.count("\n") == 1
    assert main(["chat", "--port", "99999"]) == EXIT_USAGE
    assert "not a port" in capsys.readouterr().err


def test_chat_on_an_open_address_needs_a_login_or_no_uploads(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RAG_AUTH", raising=False)
    assert main(["chat", "--index", str(tmp_path / "none"), "--host", "0.0.0.0"]) == EXIT_ERROR
    error = capsys.readouterr().err
    assert "--auth USER:PASSWORD" in error and "--no-uploads" in error and error.count("\n") == 1
    assert main(["chat", "--index", str(tmp_path / "none"), "--host", "0.0.0.0", "--auth", "alice"]) == EXIT_ERROR
    assert "must be USER:PASSWORD" in capsys.readouterr().err
    # with either, it gets as far as the missing index
    assert main(["chat", "--index", str(tmp_path / "none"), "--host", "0.0.0.0", "--no-uploads"]) == EXIT_ERROR
    assert "No index at" in capsys.readouterr().err
    monkeypatch.setenv("RAG_AUTH", "alice:secret")
    assert main(["chat", "--index", str(tmp_path / "none"), "--host", "0.0.0.0"]) == EXIT_ERROR
    assert "No index at" in capsys.readouterr().err
