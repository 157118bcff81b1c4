"""The benchmark's own parts on small data: the texts it compares are what was embedded, the long file
and its edit, the baseline search, a table row beside its baseline for every measurement, no torch."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SEEDS, FakeEmbedder

import rag

sys.path.insert(0, str(ROOT))  # bench/ is not an installed package: found beside tests/ whatever the working folder
from bench.__main__ import parse  # noqa: E402
from bench.corpus import edit_paragraph, long_document  # noqa: E402
from bench.ingest import chunk_texts  # noqa: E402
from bench.query import baseline_search  # noqa: E402
from bench.report import markdown, rows  # noqa: E402


@pytest.fixture
def fake_index(fake_settings: rag.Settings) -> rag.Index:
    return rag.build_index(SEEDS, settings=fake_settings, embedder=FakeEmbedder())


def test_chunk_texts_are_the_texts_that_were_embedded(fake_index: rag.Index):
    texts = chunk_texts(fake_index)
    ids = np.sort(fake_index.store.lexical.chunk_ids)
    assert len(texts) > fake_index.info().chunks > 10  # one text per sentence
    assert np.allclose(FakeEmbedder().embed(texts), fake_index.store.vectors_of(ids), atol=1e-6)


def test_baseline_search_agrees_with_dense_search(fake_index: rag.Index):
    question = "Who made the opening address at the course?"
    _, rows_found = baseline_search(fake_index, k=100)(question)
    vectors = fake_index.store.vectors
    owners = vectors.sorted_ids() >> vectors.bits  # the chunk of each row: pieces are stored chunk by chunk
    assert vectors.bits and len(owners) > fake_index.info().chunks  # several sentences per chunk
    best_chunks = list(dict.fromkeys(int(owners[row]) for row in rows_found[0]))[: fake_index.settings.k]
    top = fake_index.search(question, k=fake_index.settings.k, mode="dense")
    assert best_chunks == [passage.chunk_id for passage in top]


def test_long_document_is_distinct_paragraphs_and_an_edit_changes_one(tmp_path: Path):
    articles = [{"title": f"Article {a}", "paragraphs": [{"context": f"Paragraph {a}.{p}. " + "Words here. " * 40,
                                                          "qas": []} for p in range(20)]} for a in range(5)]
    squad = tmp_path / "squad.json.gz"
    with gzip.open(squad, "wt", encoding="utf-8") as handle:
        json.dump({"data": articles, "version": "1.1"}, handle)
    path = long_document(squad, tmp_path / "long", pages=4, page_chars=3000)
    before = path.read_text(encoding="utf-8").split("\n\n")
    assert len(path.read_text(encoding="utf-8")) >= 4 * 3000
    assert len(set(before)) == len(before)
    edit_paragraph(path, 1)
    after = path.read_text(encoding="utf-8").split("\n\n")
    assert len(after) == len(before)
    assert [number for number, (old, new) in enumerate(zip(before, after)) if old != new] == [len(before) // 2]


def test_parse_refuses_an_unknown_step():
    assert parse(["--skip", "memory,bm25", "--scale", ""]).skip == {"memory", "bm25"}
    with pytest.raises(SystemExit):
        parse(["--skip", "memry"])


def test_environment_does_not_import_torch():
    script = "import sys, bench.__main__ as m; e = m.environment(); assert 'torch' not in sys.modules; print(e['backend'])"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() in ("onnx-int8", "onnx", "torch")


def test_every_row_shows_its_baseline_and_the_goals_are_judged():
    latency = {"p50_ms": 2.0, "p95_ms": 4.0, "n": 100}
    results = {
        "ingest": {"documents": 300, "chunks": 310, "backend": "onnx-int8", "model_load_s": 0.4, "ours_s": 10.0,
                   "bare_s": 9.5, "ours_over_bare": 10 / 9.5},
        "ingest_cold": {"runs": 2, "ours_s": 12.0, "bare_s": 11.0, "langchain_s": 30.0, "ours_over_bare": 12 / 11,
                        "ours_over_langchain": 0.4},
        "reingest": {"full_s": 10.0, "one_changed_s": 0.2, "one_changed_over_full": 0.02, "one_changed_embedded": 1,
                     "nothing_changed_s": 0.05, "nothing_changed_over_full": 0.005, "nothing_changed_embedded": 0},
        "edit": {"pages": 200, "characters": 600_000, "chunks": 607, "full_s": 30.0, "full_embedded": 607,
                 "edited_s": 3.0, "edited_embedded": 1, "edited_over_full": 0.1},
        "query": {"baseline": latency, **{row: latency for row in ("dense", "bm25", "hybrid", "ask")},
                  **{f"{row}_over_baseline_p{p}": 1.0 for row in ("dense", "bm25", "hybrid", "ask") for p in (50, 95)}},
        "cold_start": {"runs": 5, "import_sentence_transformers_s": 10.0, "rag_ask_s": 2.0, "rag_search_s": 1.5,
                       "ask_ratio": 0.2, "search_ratio": 0.15},
    }
    table = rows(results)
    assert len(table) == 12 and all(len(row) == 5 and row[2] and row[3] for row in table)
    goals = {row[0].split(" (")[0]: row[4] for row in table if row[4]}
    assert goals["cold ingest, `rag ingest --rebuild` in a fresh process"] == "<= 0.5x met"
    assert goals["re-ingest after editing one paragraph of a 200-page file"] == "<= 5% **missed**"
    assert goals["cold `rag ask Q --index SEEDS`"] == "<= 0.35x met"
    assert markdown(results).count("\n") == len(table) + 1


def test_a_failed_group_of_rows_is_a_row_of_its_own():
    table = rows({"failed": {"cold": "RagError: weights | features\nrefit them"}})
    assert table == [("cold rows", "failed", "RagError: weights / features refit them", "", "**failed**")]
