"""Hybrid search reordered by the fitted answerer: the same passages, the one that answers first."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import PYTHON_DOCS

import rag
from rag.embedding import Embedder

QUESTIONS = ("Who made the opening address at the second short course?", "What did the participants watch?",
             "Which newspaper printed the report?", "When was the first course held?")


@pytest.mark.parametrize("question", QUESTIONS)
def test_reranking_reorders_the_same_passages_and_scores_them_as_shares(seed_index: rag.Index, question: str):
    plain = seed_index.search(question, k=5, rerank=False)
    reranked = seed_index.search(question, k=5)
    assert sorted(passage.chunk_id for passage in reranked) == sorted(passage.chunk_id for passage in plain)
    assert [passage.rank for passage in reranked] == [1, 2, 3, 4, 5]
    scores = [passage.score for passage in reranked]
    assert scores == sorted(scores, reverse=True) and 0.99 <= sum(scores) <= 1.0 + 1e-6  # the answerer's shares
    for mode in ("dense", "bm25"):  # the bare retrievers stay bare
        assert seed_index.search(question, k=5, mode=mode) == seed_index.search(question, k=5, mode=mode, rerank=False)


def test_reranking_can_be_switched_off(seed_index: rag.Index, embedder: Embedder):
    question = QUESTIONS[0]
    off = rag.load_index(seed_index.path, settings=replace(seed_index.settings, rerank="none"), embedder=embedder)
    assert off.search(question, k=5) == seed_index.search(question, k=5, rerank=False)
    wrong = rag.load_index(seed_index.path, settings=replace(seed_index.settings, rerank="cross"), embedder=embedder)
    with pytest.raises(rag.InvalidQueryError, match="RAG_RERANK='cross' is not one of answerer, none"):
        wrong.search(question)


@pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="needs Debian's python3.11-doc (make setup)")
def test_reranking_puts_the_api_entry_that_answers_first(tmp_path: Path, embedder: Embedder):
    """statistics.html documents variance() beside pvariance(); hybrid search ranks the population variance
    first, the answerer the entry that states the degrees of freedom."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for page in ("statistics.html", "hashlib.html", "pickle.html"):
        shutil.copy(PYTHON_DOCS / page, folder / page)
    index = rag.build_index(folder, tmp_path / "index", embedder=embedder)
    question = "With how many degrees of freedom does variance() compute the sample variance?"

    def answers(passage: rag.Passage) -> bool:
        return "N-1 degrees of freedom" in " ".join(passage.clean_text.split())

    assert not answers(index.search(question, k=3, rerank=False)[0])
    assert answers(index.search(question, k=3)[0])
