"""Ingest rows, all on the same chunk texts: this project against the LangChain tutorial pipeline (cold)
and against a bare encode with the same backend (cold: a fresh process each; warm: in this process,
model loaded), interleaved round by round; then re-ingest after one changed file and after none, profiled.

The chunk texts are read back from the index's SQLite (what was embedded, title prefix included),
so every pipeline embeds exactly the same strings.
"""

from __future__ import annotations

import cProfile
import importlib.util
import json
import logging
import pstats
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from .corpus import Corpus
from .process import run_child

log = logging.getLogger(__name__)

# (file suffix, function) -> label: where a re-ingest spends its time
PROFILE_TARGETS = {
    ("rag/ingest.py", "_scan"): "scan: read + sha256 every file",
    ("rag/ingest.py", "_write"): "write: chunk, embed, build the next generation",
    ("rag/chunking.py", "chunk_document"): "  chunk the changed documents",
    ("rag/store/local_writer.py", "stored_vectors"): "  reuse stored vectors by chunk text",
    ("rag/onnx_embedding.py", "embed"): "  embed changed chunks (ONNX)",
    ("rag/embedding.py", "embed"): "  embed changed chunks (torch)",
    ("rag/store/local.py", "__init__"): "Writer/Store open (sqlite copy, faiss read, bm25 load)",
    ("shutil.py", "copyfile"): "  sqlite copy of previous generation",
    ("rag/store/lexical.py", "build"): "BM25 rebuild over all chunks",
    ("rag/store/lexical.py", "tokenize"): "  tokenize + stem",
    ("rag/store/local_writer.py", "commit"): "commit (sqlite, BM25, faiss write, fsync)",
    ("rag/store/manifest.py", "sync_tree"): "  fsync of the new generation",
    ("rag/index.py", "__init__"): "open the new generation for search",
}

_LANGCHAIN = """
import json, sys
from langchain_community.vectorstores import FAISS
from langchain_core.documents import Document
try:
    from langchain_huggingface import HuggingFaceEmbeddings
except ImportError:
    from langchain_community.embeddings import HuggingFaceEmbeddings
texts = json.load(open(sys.argv[1], encoding="utf-8"))
FAISS.from_documents([Document(page_content=text) for text in texts], HuggingFaceEmbeddings(model_name=sys.argv[2]))
"""
_BARE = """
import json, sys
from rag.backends import make_embedder
from rag.config import load_settings
make_embedder(load_settings()).embed(json.load(open(sys.argv[1], encoding="utf-8")))
"""


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def chunk_texts(index: Any) -> list[str]:
    """The exact texts this project embedded (each chunk, or each of its sentences, as ``dense_unit`` says),
    in chunk-id order, from the current generation's SQLite."""
    from rag.chunking import dense_texts
    from rag.store.pieces import MAX_PIECES

    path = index.path / index.store.manifest.generation / "chunks.sqlite"
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT d.title, c.section, c.clean_text FROM chunks c JOIN documents d USING (doc_id) "
                          "ORDER BY c.chunk_id").fetchall()
    return [text for title, section, clean_text in rows
            for text in dense_texts(title, section, clean_text, index.settings.dense_unit, MAX_PIECES)]


def full_ingest(corpus: Corpus, index_dir: Path, runs: int = 2) -> tuple[dict[str, Any], Any, list[str]]:
    """``runs`` warm rounds, ours then bare, medians reported; they build the index the other rows search."""
    import rag
    from rag.backends import make_embedder
    from rag.config import load_settings

    runs = max(runs, 1)
    settings = load_settings()
    embedder = make_embedder(settings)
    log.info("loading the %s embedding model", settings.backend)
    _, load_seconds = timed(embedder.embed, ["warm up"] * 8)
    ours: list[float] = []
    bare: list[float] = []
    for round_number in range(runs):
        log.info("warm full ingest of %d files, round %d of %d: ours, then bare", len(corpus.files), round_number + 1, runs)
        index, seconds = timed(rag.build_index, corpus.folder, index_dir, embedder=embedder, rebuild=True)
        ours.append(seconds)
        texts = chunk_texts(index)
        bare.append(timed(make_embedder(settings).embed, texts)[1])
    result: dict[str, Any] = {
        "documents": len(corpus.files), "chunks": index.info().chunks, "texts_embedded": len(texts),
        "backend": settings.backend, "runs": runs,
        "model_load_s": load_seconds, "ours_s": statistics.median(ours), "bare_s": statistics.median(bare),
        "ours_runs": ours, "bare_runs": bare, "ours_over_bare": statistics.median(ours) / statistics.median(bare),
        "chunks_embedded": index.last_ingest.chunks_embedded if index.last_ingest else None,
    }
    return result, index, texts


def cold_ingest(folder: Path, texts: list[str], work: Path, langchain: bool = True, runs: int = 2) -> dict[str, Any]:
    """Median wall time of fresh processes: ``rag ingest --rebuild``, the LangChain script on the same
    chunk texts, and a bare encode of them with the same backend, interleaved round by round."""
    from rag.config import load_settings
    from rag.embedding import resolve_model

    text_file = work / "chunk_texts.json"
    text_file.write_text(json.dumps(texts), encoding="utf-8")
    commands = {
        "ours": [str(Path(sys.executable).parent / "rag"), "ingest", str(folder), "--index", str(work / "index-cold"),
                 "--rebuild"],
        "bare": [sys.executable, "-c", _BARE, str(text_file)],
    }
    result: dict[str, Any] = {"runs": runs}
    if not langchain:
        result["langchain_skipped"] = "--skip langchain"
    elif importlib.util.find_spec("langchain_community") is None:
        log.warning("LangChain comparison skipped: pip install -e '.[bench]'")
        result["langchain_skipped"] = "langchain-community is not installed (pip install -e '.[bench]')"
    else:
        commands["langchain"] = [sys.executable, "-c", _LANGCHAIN, str(text_file), resolve_model(load_settings().model)]
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(runs):
        for name, command in commands.items():
            log.info("cold ingest, round %d of %d: %s", round_number + 1, runs, name)
            samples[name].append(run_child(command)[0])
    for name, seconds in samples.items():
        result[f"{name}_s"] = statistics.median(seconds)
        result[f"{name}_runs"] = seconds
    result["ours_over_bare"] = result["ours_s"] / result["bare_s"]
    if "langchain_s" in result:
        result["ours_over_langchain"] = result["ours_s"] / result["langchain_s"]
    return result


def _touch(path: Path, round_number: int) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\nBenchmark edit {round_number}: this sentence changes the file's content hash.\n")


def reingest(corpus: Corpus, index_dir: Path, full_seconds: float) -> dict[str, Any]:
    """Change one file and re-ingest (timed, then again profiled); then re-ingest with nothing changed."""
    import rag

    target = corpus.files[len(corpus.files) // 2]
    _touch(target, 1)
    log.info("re-ingest after changing %s", target.name)
    index, one = timed(rag.build_index, corpus.folder, index_dir)
    assert index.last_ingest is not None and index.last_ingest.updated, "the edited file was not re-ingested"
    one_embedded = index.last_ingest.chunks_embedded
    _touch(target, 2)
    profile, profiled = profiled_ingest(corpus.folder, index_dir)
    log.info("re-ingest with nothing changed")
    index, none = timed(rag.build_index, corpus.folder, index_dir)
    return {
        "one_changed_s": one, "one_changed_over_full": one / full_seconds, "one_changed_embedded": one_embedded,
        "nothing_changed_s": none, "nothing_changed_over_full": none / full_seconds,
        "nothing_changed_embedded": index.last_ingest.chunks_embedded if index.last_ingest else None,
        "full_s": full_seconds, "profiled_s": profiled, "profile": profile, "chunks": index.info().chunks,
    }


def profiled_ingest(folder: Path, index_dir: Path, embedder: Any = None) -> tuple[list[dict[str, Any]], float]:
    """One incremental ingest under cProfile: the ``PROFILE_TARGETS`` breakdown and its wall seconds."""
    import rag

    log.info("re-ingest of %s under cProfile", folder.name)
    profiler = cProfile.Profile()
    profiler.enable()
    _, seconds = timed(rag.build_index, folder, index_dir, embedder=embedder)
    profiler.disable()
    return breakdown(pstats.Stats(profiler)), seconds


def breakdown(stats: pstats.Stats) -> list[dict[str, Any]]:
    """Cumulative seconds of the functions in ``PROFILE_TARGETS`` (nested entries overlap)."""
    found: dict[str, float] = {}
    for (filename, _, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        for (suffix, name), label in PROFILE_TARGETS.items():
            if function == name and filename.replace("\\", "/").endswith(suffix):
                found[label] = found.get(label, 0.0) + entry[3]
    order = list(PROFILE_TARGETS.values())
    return [{"step": label, "seconds": found[label]} for label in order if label in found]
