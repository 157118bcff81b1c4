"""Shared fixtures: the real bundled model once per session, a seed index, and a fake embedder
for tests that must assert exact vectors."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import rag  # noqa: E402
from rag.embedding import SentenceTransformerEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


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
def embedder() -> SentenceTransformerEmbedder:
    """The real default model, loaded once."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> rag.Index:
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
