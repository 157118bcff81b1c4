"""One settings object: defaults, ``RAG_*`` environment overrides, and the part saved with an index."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import InvalidQueryError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MODES = ("hybrid", "dense", "bm25")
RERANKERS = ("answerer", "none")  # rag/answer/rerank.py: hybrid results reordered by the fitted answerer, or not
DENSE_UNITS = ("sentence", "chunk")  # rag/store/pieces.py
VECTOR_INDEXES = ("auto", "flat", "hnsw")  # rag/store/vectors.py
BACKENDS = ("onnx-int8", "onnx", "torch")  # rag/backends.py; the first is the default
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured. Fields marked in ``INDEX_FIELDS`` are stored with the index."""

    index_dir: str = ".rag/index"
    store_url: str = ""  # postgresql://... keeps the index in PostgreSQL (rag/store/postgres/); empty: in index_dir
    model: str = DEFAULT_MODEL
    backend: str = BACKENDS[0]  # how vectors are computed (rag/backends.py); stored with the index
    chunk_size: int = 1200  # characters; chosen on eval/seeds.jsonl and eval/pydocs.jsonl (README, Evaluation)
    chunk_overlap: int = 200  # whole sentences shared by neighbours cut from one section
    batch_size: int = 64
    mode: str = "hybrid"
    k: int = 5
    dense_unit: str = "sentence"  # what one vector stands for: each "sentence" of a chunk, or the whole "chunk"
    fusion_weight: float = 0.5  # weight of the dense score in hybrid fusion; the rest is BM25 (README, Evaluation)
    fusion_depth: int = 100  # candidates taken from each retriever before fusion
    rerank: str = RERANKERS[0]  # "answerer": hybrid search's first ten passages reordered by the answerer
    vector_index: str = "auto"  # local FAISS index: "flat" (exact), "hnsw", or "auto" (HNSW from hnsw_from vectors)
    hnsw_from: int = 100_000  # vectors; measured in docs/scaling.md
    max_file_bytes: int = 100_000_000
    max_question_chars: int = 2_000
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0

    def with_env(self, environ: dict[str, str] | None = None) -> Settings:
        """Return a copy with ``RAG_<FIELD>`` environment variables applied (``RAG_INDEX`` for index_dir)."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for spec in fields(self):
            name = "RAG_INDEX" if spec.name == "index_dir" else f"RAG_{spec.name.upper()}"
            if name in env and env[name] != "":
                current = getattr(self, spec.name)
                try:
                    changes[spec.name] = type(current)(env[name])
                except ValueError:
                    kind = {int: "a whole number", float: "a number"}.get(type(current), type(current).__name__)
                    raise InvalidQueryError(f"{name}={env[name]!r} is not {kind}; set it like {name}={current} "
                                            "or unset it.") from None
        return replace(self, **changes)

    def index_settings(self) -> dict[str, Any]:
        """The settings that shape the stored vectors and chunks, saved in the manifest."""
        data = asdict(self)
        return {name: data[name] for name in INDEX_FIELDS}

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir)


INDEX_FIELDS = ("model", "backend", "chunk_size", "chunk_overlap", "dense_unit")
LEGACY_BACKEND = "torch"  # what built the indexes whose manifest names no backend
LEGACY_DENSE_UNIT = "chunk"  # what indexes whose manifest names no dense unit hold


def load_settings(**overrides: Any) -> Settings:
    """Defaults, then the environment, then explicit overrides (ignoring ``None``)."""
    settings = Settings().with_env()
    return replace(settings, **{key: value for key, value in overrides.items() if value is not None})
