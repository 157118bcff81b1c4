"""Shared fixtures: the real bundled model once per session, a seed index, and a fake embedder
for tests that must assert exact vectors."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import rag  # noqa: E402
from rag.backends import make_embedder  # noqa: E402
from rag.embedding import Embedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# Debian's python3.11-doc (the Makefile installs it): real HTML documentation for parser and retrieval tests
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html/library")
PYDOCS_PAGES = (ROOT / "eval" / "pydocs" / "pages.txt").read_text(encoding="utf-8").split()
SERVER_ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


class FakeEmbedder:
    """Deterministic bag-of-words vectors: equal words give equal directions, so tests can reason exactly."""

    name = "fake"
    dimension = 64

    def __init__(self) -> None:
        self.calls: list[int] = []  # number of texts per embed call

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model with the default backend, loaded once."""
    return make_embedder(rag.Settings())


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> rag.Index:
    """The seeds indexed with the default settings and the real model (read-only: do not ingest into it)."""
    return rag.build_index(SEEDS, tmp_path_factory.mktemp("seed-index"), embedder=embedder)


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def fake_settings(tmp_path: Path) -> rag.Settings:
    return rag.Settings(index_dir=str(tmp_path / "index"), model="fake")


def stop_process(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Stop a server the tests started: politely, then for sure."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexes opened by the CLI embed with ``FakeEmbedder``: for tests about files and indexes, not the model."""
    monkeypatch.setattr("rag.index.make_embedder", lambda *args, **kwargs: FakeEmbedder())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_chat_server(index_dir: Path, log: Path, seconds: float = 120) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    """``rag chat`` over ``index_dir`` in a subprocess; returns it with its URL once the page answers 200."""
    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "rag", "chat", "--index", str(index_dir), "--port", str(port)],
                                  cwd=ROOT, env=SERVER_ENV, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the chat server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.3)
    stop_process(server)
    pytest.fail(f"the chat server did not answer at {url} within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def running_chat(index_dir: Path, log: Path) -> Iterator[str]:
    """``start_chat_server`` for a ``with`` block: its URL, and the server stopped afterwards."""
    server, url = start_chat_server(index_dir, log)
    try:
        yield url
    finally:
        stop_process(server)


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF with one Helvetica text line per entry; no PDF library needed to write it."""
    def escape(line: str) -> str:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        stream = "BT /F1 12 Tf 16 TL 72 720 Td " + " ".join(f"({escape(line)}) Tj T*" for line in lines) + " ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {len(objects)} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_docx(path: Path, blocks: Sequence[tuple[str, object]]) -> Path:
    """A Word file of ``("heading", (text, level))``, ``("paragraph", text)`` and ``("table", rows)`` blocks."""
    import docx

    document = docx.Document()
    for kind, value in blocks:
        if kind == "heading":
            text, level = value  # type: ignore[misc]
            document.add_heading(text, level)
        elif kind == "paragraph":
            document.add_paragraph(str(value))
        else:
            rows = list(value)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for row, cells in zip(table.rows, rows):
                for cell, text in zip(row.cells, cells):
                    cell.text = text
    document.save(str(path))
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL with pgvector from the bundled wheel, for this session only; its URL."""
    from rag.store.postgres import server

    with postgres_data() as data:
        yield server.start(data)


@contextmanager
def postgres_data() -> Iterator[Path]:
    """A data folder for a bundled PostgreSQL, stopped and removed afterwards. Not under pytest's tmp_path:
    run as root, the server runs as the system user ``pgserver``, and every new pytest session (another
    developer's too) resets ``/tmp/pytest-of-root`` to mode 0700, which would lock that user out mid-run."""
    from rag.store.postgres import server

    folder = Path(tempfile.mkdtemp(prefix="rag-test-pg-"))
    try:
        yield folder / "data"
    finally:
        server.stop(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL to a new, empty database of the session's server: no test sees another's tables."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(postgres_server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
