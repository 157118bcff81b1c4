"""Ingest rows: this project vs a bare ``SentenceTransformer.encode`` (the floor) vs the LangChain
tutorial pipeline, on the same chunk texts; then re-ingest after one change, profiled.
"""

from __future__ import annotations

import cProfile
import logging
import pstats
import time
from pathlib import Path
from typing import Any

from .corpus import Corpus

log = logging.getLogger(__name__)

# (file suffix, function) -> label: where a re-ingest spends its time
PROFILE_TARGETS = {
    ("rag/ingest.py", "_scan"): "scan: read + sha256 every file",
    ("rag/ingest.py", "_write"): "write: chunk, embed, build the next generation",
    ("rag/embedding.py", "embed"): "embed changed chunks",
    ("rag/store.py", "__init__"): "Writer/Store open (sqlite copy, faiss read, bm25 load)",
    ("shutil.py", "copyfile"): "sqlite copy of previous generation",
    ("rag/lexical.py", "build"): "BM25 rebuild over all chunks",
    ("rag/lexical.py", "tokenize"): "  of which: tokenize + stem all chunks",
    ("rag/store.py", "commit"): "commit (sqlite, BM25, faiss write, fsync)",
    ("rag/store.py", "_sync_tree"): "fsync of the new generation",
    ("rag/index.py", "reload"): "open the new generation for search",
    ("rag/lexical.py", "load"): "BM25 load",
}


def _timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def chunk_texts(index: Any) -> list[str]:
    """The exact texts this project embedded, in chunk-id order (title prefix included)."""
    from rag.chunking import index_text

    ids = sorted(int(chunk_id) for chunk_id in index.store.lexical.chunk_ids)
    rows = index.store.chunk_rows(ids)
    return [index_text(rows[chunk_id]["title"], rows[chunk_id]["clean_text"]) for chunk_id in ids]


def full_ingest(corpus: Corpus, index_dir: Path, langchain: bool = True) -> tuple[dict[str, Any], Any, list[str]]:
    """Time the three pipelines; the model is loaded (and timed) once before, as a server would."""
    import rag
    from rag.config import load_settings
    from rag.embedding import SentenceTransformerEmbedder, resolve_model

    settings = load_settings()
    embedder = SentenceTransformerEmbedder(settings.model, settings.batch_size)
    log.info("loading the embedding model")
    model, load_seconds = _timed(lambda: embedder.model)
    model.encode(["warm up"] * settings.batch_size, batch_size=settings.batch_size)
    log.info("full ingest (this project) of %d files", len(corpus.files))
    index, ours = _timed(rag.build_index, corpus.folder, index_dir, rebuild=True)
    texts = chunk_texts(index)
    log.info("bare SentenceTransformer.encode of %d chunk texts", len(texts))
    _, bare = _timed(model.encode, texts, batch_size=settings.batch_size, normalize_embeddings=True,
                     convert_to_numpy=True)
    result: dict[str, Any] = {
        "documents": len(corpus.files), "chunks": len(texts), "model_load_s": load_seconds,
        "ours_s": ours, "bare_s": bare, "batch_size": settings.batch_size,
        "ours_over_bare": ours / bare,
    }
    if langchain:
        result.update(_langchain(texts, resolve_model(settings.model)))
        if "langchain_s" in result:
            result["ours_over_langchain"] = ours / result["langchain_s"]
    return result, index, texts


def _langchain(texts: list[str], model_path: str) -> dict[str, Any]:
    """The LangChain RAG tutorial: HuggingFaceEmbeddings + FAISS.from_documents, default settings."""
    try:
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        try:
            from langchain_huggingface import HuggingFaceEmbeddings
        except ImportError:
            from langchain_community.embeddings import HuggingFaceEmbeddings  # type: ignore[no-redef]
    except ImportError as error:
        log.warning("LangChain comparison skipped (%s): pip install langchain-community", error)
        return {"langchain_skipped": str(error)}
    log.info("LangChain FAISS.from_documents on the same %d chunk texts", len(texts))
    embeddings, construct = _timed(HuggingFaceEmbeddings, model_name=model_path)
    documents = [Document(page_content=text) for text in texts]
    _, seconds = _timed(FAISS.from_documents, documents, embeddings)
    return {"langchain_s": seconds, "langchain_model_load_s": construct,
            "langchain_embeddings": f"{type(embeddings).__module__}.HuggingFaceEmbeddings"}


def _touch(path: Path, round_number: int) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\nBenchmark edit {round_number}: this sentence changes the file's content hash.\n")


def reingest(corpus: Corpus, index_dir: Path, full_seconds: float) -> dict[str, Any]:
    """Change one file and re-ingest (timed, then again profiled); then re-ingest with nothing changed."""
    import rag

    target = corpus.files[len(corpus.files) // 2]
    _touch(target, 1)
    log.info("re-ingest after changing %s", target.name)
    index, one = _timed(rag.build_index, corpus.folder, index_dir)
    assert index.last_ingest is not None and index.last_ingest.updated, "the edited file was not re-ingested"
    _touch(target, 2)
    log.info("re-ingest again under cProfile")
    profiler = cProfile.Profile()
    profiler.enable()
    started = time.perf_counter()
    rag.build_index(corpus.folder, index_dir)
    profiled = time.perf_counter() - started
    profiler.disable()
    log.info("re-ingest with nothing changed")
    index, none = _timed(rag.build_index, corpus.folder, index_dir)
    return {
        "one_changed_s": one, "one_changed_over_full": one / full_seconds, "nothing_changed_s": none,
        "nothing_changed_over_full": none / full_seconds, "profiled_s": profiled,
        "profile": breakdown(pstats.Stats(profiler)), "chunks": index.info()["chunks"],
    }


def breakdown(stats: pstats.Stats) -> list[dict[str, Any]]:
    """Cumulative seconds of the functions in ``PROFILE_TARGETS`` (nested entries overlap)."""
    found: dict[str, float] = {}
    for (filename, _, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        for (suffix, name), label in PROFILE_TARGETS.items():
            if function == name and filename.replace("\\", "/").endswith(suffix):
                found[label] = found.get(label, 0.0) + entry[3]
    order = list(PROFILE_TARGETS.values())
    return [{"step": label, "seconds": found[label]} for label in order if label in found]
