"""Keyword search: BM25 over chunk texts with the bm25s package.

Tokens are lower-cased words with English stop words removed and Snowball stems, the setup
that reproduces the published BM25 figures on BEIR.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
# Dotted names (json.loads, os.path.join, Python 3.11) are terms of their own besides their words:
# "loads" stems to "load", and only the whole name tells json.loads from json.load.
_DOTTED = re.compile(r"\w+(?:\.\w+)+", re.UNICODE)
MAX_NAME_PARTS, MAX_NAME_CHARS = 6, 120


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def _bm25s():  # type: ignore[no-untyped-def]
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG, which reaches our handlers
    return bm25s


def tokenize(text: str) -> list[str]:
    """Words to BM25 terms, then dotted names whole with their shorter tails:
    ``"The Courses opened os.path.join"`` -> ``["cours", "open", "os", "path", "join", "os.path.join", "path.join"]``."""
    stop = _stopwords()
    lower = text.lower()
    words = [word for word in _WORD.findall(lower) if word not in stop and (len(word) > 1 or word.isdigit())]
    return list(_stemmer().stemWords(words)) + [name for dotted in _DOTTED.findall(lower) for name in _tails(dotted)]


def _tails(dotted: str) -> list[str]:
    """``a.b.c`` -> ``["a.b.c", "b.c"]``: a name may be written with or without its module.

    Longer chains are not names (and their tails would grow with the square of their length)."""
    parts = dotted.split(".")
    if len(parts) > MAX_NAME_PARTS or len(dotted) > MAX_NAME_CHARS:
        return []
    return [".".join(parts[first:]) for first in range(len(parts) - 1)]


class Lexical:
    """A BM25 index whose rows are chunk ids."""

    def __init__(self, bm25, chunk_ids: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        self._bm25 = bm25
        self.chunk_ids = chunk_ids
        self._vocab: dict[str, int] = bm25.vocab_dict

    @classmethod
    def build(cls, texts: list[str], chunk_ids: np.ndarray) -> Lexical:
        return cls.from_terms([tokenize(text) for text in texts], chunk_ids)

    @classmethod
    def from_terms(cls, terms: list[list[str]], chunk_ids: np.ndarray) -> Lexical:
        """BM25 over chunks already tokenized (``tokenize``), one list of terms per chunk id."""
        bm25 = _bm25s().BM25()
        # an empty document must still count as a row, so that rows line up with chunk ids
        bm25.index([found or [""] for found in terms], show_progress=False)
        return cls(bm25, chunk_ids)

    def save(self, folder: Path) -> None:
        import numpy as np

        self._bm25.save(str(folder), show_progress=False)
        np.save(folder / "chunk_ids.npy", self.chunk_ids)

    @classmethod
    def load(cls, folder: Path) -> Lexical:
        import numpy as np

        bm25 = _bm25s().BM25.load(str(folder), show_progress=False, mmap=False)
        return cls(bm25, np.load(folder / "chunk_ids.npy"))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros when no term is known)."""
        import numpy as np

        terms = [term for term in tokenize(query) if term in self._vocab]
        if not terms:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)


    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """BM25 inverse document frequency of each term over the chunks (a term seen nowhere gets the largest)."""
        import math

        scores = self._bm25.scores
        pointers, total = scores["indptr"], int(scores["num_docs"])
        found = {}
        for term in terms:
            row = self._vocab.get(term)
            frequency = int(pointers[row + 1] - pointers[row]) if row is not None else 0
            found[term] = math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))
        return found
