"""Offline question answering over a folder of documents, with cited passages.

    import rag
    index = rag.build_index("seeds", ".rag/index")
    passages = index.search("Who opened the first course?", k=5)

Importing this package loads neither torch, faiss nor gradio: they come at first use.
"""

from .config import Settings, load_settings
from .errors import (
    EmptyCorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidQueryError,
    LLMError,
    RagError,
)
from .eval import EvalReport, evaluate
from .index import Index, build_index, load_index
from .ingest import IngestReport
from .types import Answer, Chunk, Citation, Document, DocumentInfo, IndexInfo, Passage

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "DocumentInfo",
    "EmptyCorpusError",
    "EvalReport",
    "Index",
    "IndexCorruptError",
    "IndexInfo",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IngestReport",
    "InvalidQueryError",
    "LLMError",
    "Passage",
    "RagError",
    "Settings",
    "build_index",
    "evaluate",
    "load_index",
    "load_settings",
]
