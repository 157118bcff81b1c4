"""Public benchmarks through the real pipeline: corpus files, ``rag.build_index``, document rankings, scores.

Every benchmark document becomes one file in a work folder, indexed with ``rag.build_index``
(incremental, so a re-run embeds nothing); chunk hits are mapped back to documents, a document
scoring as its best chunk, and judged against the qrels. Files are HTML with the title in an
``<h1>``: the loader always takes that as the title, whereas the plain-text heuristic
(``loaders.find_title``) rejects short titles and long ones ending in a period (all SQuAD
titles, 16% of SciFact's). The indexed text is then ``title`` + blank line + ``text``, close to
MTEB's ``title + " " + text``.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import Settings, load_settings
from ..embedding import Embedder
from ..fusion import reciprocal_rank_fusion
from ..index import build_index
from ..retriever import Retriever
from . import metrics
from .benchmarks import Benchmark
from .report import format_table

DEFAULT_CHUNK_SIZE = 20_000  # characters: the longest SciFact abstract (10,126) stays one chunk
DOCS_PER_QUERY = 100  # Recall@100 needs 100 documents per query

def file_name(doc_id: str) -> str:
    """A safe, unique file name for a document id: ``"4983"`` -> ``"4983.html"``."""
    safe = re.sub(r"[^\w\-]", "_", doc_id).lstrip("_") or "doc"
    if safe != doc_id:
        safe = f"{safe}-{hashlib.sha1(doc_id.encode()).hexdigest()[:8]}"
    return f"{safe}.html"


def write_corpus(benchmark: Benchmark, folder: Path) -> dict[str, str]:
    """One file per document (unchanged files are left alone); returns ``{file name: doc id}``."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for doc_id, (title, text) in benchmark.corpus.items():
        name = file_name(doc_id)
        names[name] = doc_id
        heading = f"<h1>{html.escape(title.strip(), quote=False)}</h1>\n\n" if title.strip() else ""
        content = f"{heading}{html.escape(text, quote=False)}\n"
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    for path in folder.iterdir():
        if path.is_file() and path.name not in names:
            path.unlink()
    return names


def document_ranking(sources: Sequence[str], names: dict[str, str], limit: int = DOCS_PER_QUERY) -> list[str]:
    """Chunk hits (best first) to document ids, each at the rank of its best chunk."""
    ranking: dict[str, None] = {}
    for source in sources:
        ranking.setdefault(names[source], None)
        if len(ranking) == limit:
            break
    return list(ranking)


def score_run(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@100, MRR@10 and hit@1/5/10 of ``{query_id: ranked doc ids}``."""
    rows = []
    for query_id, ranking in run.items():
        relevant = set(qrels[query_id])
        matches = metrics.judge(ranking, relevant)
        rows.append({
            "nDCG@10": metrics.ndcg_at_k(matches, relevant, 10),
            "Recall@100": metrics.recall_at_k(matches, relevant, 100),
            "MRR@10": metrics.mrr_at_k(matches, 10),
            **{f"hit@{k}": metrics.hit_at_k(matches, k) for k in (1, 5, 10)},
        })
    return {name: sum(row[name] for row in rows) / len(rows) for name in rows[0]} if rows else {}


@dataclass
class BenchReport:
    """Metrics per mode (``rrf`` and ``hybrid@w`` are pseudo-modes) for one benchmark."""

    name: str
    documents: int
    queries: int
    chunks: int
    chunk_size: int
    index_dir: str
    modes: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        head = (f"{self.name}: {self.queries} queries, {self.documents} documents, {self.chunks} chunks "
                f"(chunk size {self.chunk_size})")
        return head + "\n" + format_table(self.modes)


def run_benchmark(benchmark: Benchmark, work_dir: str | Path, modes: Sequence[str] = ("dense", "bm25", "hybrid"),
                  chunk_size: int = DEFAULT_CHUNK_SIZE, settings: Settings | None = None,
                  embedder: Embedder | None = None, fusion_weights: Sequence[float] = (),
                  progress: bool = False) -> BenchReport:
    """Index ``benchmark`` under ``work_dir`` (reused when unchanged) and score every mode.

    ``fusion_weights`` adds a ``hybrid@w`` column per weight; ``rrf`` is added whenever both
    ``dense`` and ``bm25`` run.
    """
    work = Path(work_dir)
    settings = settings or load_settings()
    # one chunk per document is the default here; a small chunk size keeps its overlap below a fifth of it
    settings = replace(settings, chunk_size=chunk_size, chunk_overlap=min(settings.chunk_overlap, chunk_size // 5))
    index_dir = work / (f"index-{settings.model.replace('/', '_')}-{settings.backend}-{chunk_size}-{settings.chunk_overlap}"
                        f"-{settings.dense_unit}")
    started = time.perf_counter()
    names = write_corpus(benchmark, work / "docs")
    index = build_index(work / "docs", index_dir, settings=settings, embedder=embedder, progress=progress)
    report = BenchReport(benchmark.name, len(benchmark.corpus), len(benchmark.queries), index.info().chunks,
                         chunk_size, str(index_dir))
    report.seconds["index"] = time.perf_counter() - started
    assert index.last_ingest is not None
    duplicates = {names[copy]: names[owner] for copy, owner in index.last_ingest.duplicates.items()}
    qrels = {query_id: {duplicates.get(doc_id, doc_id): grade for doc_id, grade in judged.items()}
             for query_id, judged in benchmark.qrels.items()}
    depth = min(1_000, DOCS_PER_QUERY * max(1, round(report.chunks / max(1, report.documents))))
    started = time.perf_counter()
    latencies: dict[str, list[float]] = {}
    with index.embedder.pinned([query.strip() for query in benchmark.queries.values()], progress=progress):
        report.seconds["embed queries"] = time.perf_counter() - started
        # the first-stage ranking, never the answerer's rerank: SQuAD's first half is what it was fitted on,
        # and SciFact's queries are claims, not questions
        first_stage = Retriever(index.store, index.embedder, index.settings)
        runs = {mode: _run(first_stage, benchmark.queries, names, mode, depth, latencies.setdefault(mode, []))
                for mode in modes}
        for weight in fusion_weights:
            label = f"hybrid@{weight:g}"
            weighted = Retriever(index.store, index.embedder, replace(index.settings, fusion_weight=weight))
            runs[label] = _run(weighted, benchmark.queries, names, "hybrid", depth, latencies.setdefault(label, []))
    if "dense" in runs and "bm25" in runs:
        runs["rrf"] = {qid: reciprocal_rank_fusion([runs["dense"][qid], runs["bm25"][qid]], limit=DOCS_PER_QUERY)
                       for qid in benchmark.queries}
    for label, run in runs.items():
        report.modes[label] = score_run(run, qrels)
        if latencies.get(label):
            report.modes[label]["p50 ms"] = metrics.percentile(latencies[label], 50)
            report.modes[label]["p95 ms"] = metrics.percentile(latencies[label], 95)
    return report


def _run(retriever: Retriever, queries: dict[str, str], names: dict[str, str], mode: str, depth: int,
         latencies: list[float]) -> dict[str, list[str]]:
    """Rank documents for every query in one mode, appending each search's latency (embedding excluded)."""
    run: dict[str, list[str]] = {}
    for query_id, text in queries.items():
        started = time.perf_counter()
        passages = retriever.search(text, k=depth, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        run[query_id] = document_ranking([passage.source for passage in passages], names)
    return run
