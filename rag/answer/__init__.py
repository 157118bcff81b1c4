"""Answers grounded in passages: the offline answerer, and an optional LLM whose citations are checked.

A new answerer takes a ``Reader`` (search, embed) and returns ``rag.Answer``s; ``stream``
decides which one answers.
"""

from .offline import warm
from .reader import Reader
from .rerank import rerank as rerank_passages
from .stream import answer_stream

__all__ = ["Reader", "answer_stream", "rerank_passages", "warm"]
