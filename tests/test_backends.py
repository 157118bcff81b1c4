"""Embedding backends: ONNX (fp32, int8) against sentence-transformers, the torch-free query path,
the export cache, and an index refusing a backend other than the one that built it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEEDS

import rag
from rag.backends import make_embedder
from rag.embedding import SentenceTransformerEmbedder, for_documents
from rag.errors import IndexMismatchError, RagError
from rag.onnx_export import model_key


def seed_texts() -> list[str]:
    """Real passages of every length, from one word to past the model's 256 tokens."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(SEEDS.iterdir()))
    return ["short course", text[:80], *(text[start:start + 1100] for start in range(0, len(text), 1100))]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return SentenceTransformerEmbedder().embed(seed_texts())


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "least_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_onnx_vectors_match_sentence_transformers(torch_vectors: np.ndarray, backend: str, least_cosine: float):
    texts = seed_texts()
    vectors = make_embedder(rag.Settings(backend=backend)).embed(texts)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() >= least_cosine, (backend, float(cosines.min()))


def test_a_text_gets_the_same_vector_alone_or_among_others(embedder):
    texts = seed_texts()
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([text]) for text in reversed(texts)])[::-1]
    assert np.allclose(together, alone, atol=1e-6)  # rows in the caller's order, whatever ran beside them
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_searching_and_answering_never_import_torch(seed_index: rag.Index):
    script = (f"import sys, rag\nindex = rag.load_index({str(seed_index.path)!r})\n"
              "index.search('Who opened the first course?', k=3)\n"
              "index.ask('When did the second short course take place?')\n"
              "print(sorted(name for name in ('torch', 'sentence_transformers', 'transformers') if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_torch_and_without_an_export_the_error_says_how_to_make_one(tmp_path: Path):
    script = ("import sys\nsys.modules['torch'] = None  # as if torch were not installed\n"
              "from rag.onnx_embedding import OnnxEmbedder\nOnnxEmbedder().embed(['a question'])")
    env = {**os.environ, "RAG_CACHE_DIR": str(tmp_path / "empty-cache")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=120)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("rag.errors.RagError: No ONNX export") and "pip install torch==2.13.0" in last


def test_the_export_is_keyed_by_the_model_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    (model / "weights.bin").write_bytes(b"\x00" * 1000)
    first = model_key(model)
    assert model_key(model) == first
    time.sleep(0.01)
    (model / "weights.bin").write_bytes(b"\x01" * 1000)  # same size, other content
    assert model_key(model) != first


def test_an_index_refuses_another_backend_and_remembers_its_own(seed_index: rag.Index, monkeypatch):
    assert seed_index.info().backend == "onnx-int8"
    with pytest.raises(IndexMismatchError, match="built with backend 'onnx-int8', not 'torch'"):
        rag.Index(replace(seed_index.settings, backend="torch")).search("Who opened the first course?")
    monkeypatch.setenv("RAG_BACKEND", "onnx")
    with pytest.raises(IndexMismatchError, match="unset RAG_BACKEND"):
        rag.load_index(seed_index.path).search("Who opened the first course?")
    monkeypatch.delenv("RAG_BACKEND")
    assert rag.load_index(seed_index.path).settings.backend == "onnx-int8"


def test_an_index_from_before_backends_were_recorded_was_built_by_torch(seed_index: rag.Index, tmp_path: Path):
    import shutil

    copy = tmp_path / "old-index"
    shutil.copytree(seed_index.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    del manifest["settings"]["backend"]
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert rag.load_index(copy).settings.backend == "torch"


def test_an_unknown_backend_is_one_sentence():
    with pytest.raises(RagError, match="set RAG_BACKEND to one of onnx-int8, onnx, torch"):
        make_embedder(rag.Settings(backend="tensorflow"))


@pytest.mark.slow
def test_with_torch_a_question_never_waits_for_an_upload_being_embedded():
    queries = SentenceTransformerEmbedder()
    documents = for_documents(queries)
    assert isinstance(documents, SentenceTransformerEmbedder) and documents.model is not queries.model
    answered = threading.Event()
    with documents._lock:  # as during the encode of a long upload
        worker = threading.Thread(target=lambda: (queries.embed([f"Who opened it? {time.time()}"]), answered.set()))
        worker.start()
        worker.join(timeout=120)
    assert answered.is_set(), "the question waited for the document model's lock"
