"""Public benchmarks through the real pipeline: BEIR folders (SciFact) and SQuAD v1.1 dev.

Every benchmark document becomes one file in a work folder, indexed with ``rag.build_index``
(incremental, so a re-run embeds nothing); chunk hits are mapped back to documents, a document
scoring as its best chunk, and judged against the qrels. Files are HTML with the title in an
``<h1>``: the loader always takes that as the title, whereas the plain-text heuristic
(``loaders.find_title``) rejects short titles and long ones ending in a period (all SQuAD
titles, 16% of SciFact's). The indexed text is then ``title`` + blank line + ``text``, close to
MTEB's ``title + " " + text``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import io
import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import metrics
from .config import Settings, load_settings
from .embedding import Embedder
from .errors import RagError
from .evaluation import format_table, preembedded
from .index import Index, build_index

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 20_000  # characters: the longest SciFact abstract (10,126) stays one chunk
DOCS_PER_QUERY = 100  # Recall@100 needs 100 documents per query
RRF_CONSTANT = 60


class BenchmarkError(RagError):
    """A benchmark folder or file that cannot be read."""


@dataclass(frozen=True)
class Benchmark:
    """A retrieval benchmark in BEIR's shape: ``qrels`` is ``{query_id: {doc_id: relevance}}``."""

    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # only the queries that have judgments
    qrels: dict[str, dict[str, int]]


def _open_text(folder: Path, *names: str) -> io.TextIOBase:
    for name in names:
        for path in (folder / name, folder / f"{name}.gz"):
            if path.is_file():
                if path.suffix == ".gz":
                    return gzip.open(path, "rt", encoding="utf-8", newline="")  # type: ignore[return-value]
                return open(path, encoding="utf-8", newline="")
    raise BenchmarkError(f"{folder} has no {' or '.join(names)}: point --beir at a BEIR dataset folder.")


def read_beir(folder: str | Path, split: str = "test") -> Benchmark:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` (or ``qrels-<split>.tsv``)."""
    folder = Path(folder)
    try:
        return _read_beir(folder, split)
    except (ValueError, KeyError, TypeError) as error:
        raise BenchmarkError(f"{folder} is not a readable BEIR dataset ({type(error).__name__}: {error}).") from None


def _read_beir(folder: Path, split: str) -> Benchmark:
    qrels: dict[str, dict[str, int]] = {}
    with _open_text(folder, f"qrels/{split}.tsv", f"qrels-{split}.tsv") as handle:
        rows = csv.reader(handle, delimiter="\t")  # the csv module takes CRLF line ends in its stride
        header = next(rows, None)
        if header is None or len(header) < 3:
            raise BenchmarkError(f"The qrels file in {folder} is empty or not tab-separated.")
        for row in rows:
            if len(row) >= 3 and int(row[2]) > 0:  # pytrec_eval counts only positive judgments
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    queries: dict[str, str] = {}
    with _open_text(folder, "queries.jsonl") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                if str(record["_id"]) in qrels:
                    queries[str(record["_id"])] = record["text"]  # metadata holds answers: never read it
    corpus: dict[str, tuple[str, str]] = {}
    with _open_text(folder, "corpus.jsonl") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                corpus[str(record["_id"])] = (record.get("title") or "", record.get("text") or "")
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise BenchmarkError(f"{len(missing)} judged queries are not in queries.jsonl (first: {missing[0]}).")
    return Benchmark(folder.name, corpus, queries, qrels)


def read_squad(path: str | Path) -> Benchmark:
    """SQuAD v1.1 as passage retrieval: each paragraph a document titled by its article."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise BenchmarkError(f"Cannot read SQuAD file {path} ({error}); pass a SQuAD v1.1 JSON file.") from None
    corpus: dict[str, tuple[str, str]] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for article_number, article in enumerate(data["data"]):
        title = article["title"].replace("_", " ")
        for paragraph_number, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{article_number:03d}-{paragraph_number:03d}"
            corpus[doc_id] = (title, paragraph["context"])
            for qa in paragraph["qas"]:
                queries[qa["id"]] = qa["question"]
                qrels[qa["id"]] = {doc_id: 1}
    return Benchmark(path.name.removesuffix(".gz").removesuffix(".json"), corpus, queries, qrels)


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


def rrf(rankings: Sequence[Sequence[str]], constant: int = RRF_CONSTANT, limit: int = DOCS_PER_QUERY) -> list[str]:
    """Classic reciprocal rank fusion: ``sum 1 / (constant + rank)``; ties keep first-seen order."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, 1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (constant + rank)
    return sorted(scores, key=lambda doc_id: -scores[doc_id])[:limit]


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
    settings = replace(settings or load_settings(), chunk_size=chunk_size)
    index_dir = work / f"index-{settings.model.replace('/', '_')}-{chunk_size}-{settings.chunk_overlap}"
    started = time.perf_counter()
    names = write_corpus(benchmark, work / "docs")
    index = build_index(work / "docs", index_dir, settings=settings, embedder=embedder, progress=progress)
    report = BenchReport(benchmark.name, len(benchmark.corpus), len(benchmark.queries), index.info()["chunks"],
                         chunk_size, str(index_dir))
    report.seconds["index"] = time.perf_counter() - started
    assert index.last_ingest is not None
    duplicates = {names[copy]: names[owner] for copy, owner in index.last_ingest.duplicates.items()}
    qrels = {query_id: {duplicates.get(doc_id, doc_id): grade for doc_id, grade in judged.items()}
             for query_id, judged in benchmark.qrels.items()}
    depth = min(1_000, DOCS_PER_QUERY * max(1, round(report.chunks / max(1, report.documents))))
    started = time.perf_counter()
    latencies: dict[str, list[float]] = {}
    with preembedded(index, list(benchmark.queries.values()), progress=progress):
        report.seconds["embed queries"] = time.perf_counter() - started
        runs = {mode: _run(index, benchmark.queries, names, mode, depth, latencies.setdefault(mode, []))
                for mode in modes}
        base = index.settings
        for weight in fusion_weights:
            label = f"hybrid@{weight:g}"
            index.settings = replace(base, fusion_weight=weight)
            try:
                runs[label] = _run(index, benchmark.queries, names, "hybrid", depth, latencies.setdefault(label, []))
            finally:
                index.settings = base
    if "dense" in runs and "bm25" in runs:
        runs["rrf"] = {qid: rrf([runs["dense"][qid], runs["bm25"][qid]]) for qid in benchmark.queries}
    for label, run in runs.items():
        report.modes[label] = score_run(run, qrels)
        if latencies.get(label):
            report.modes[label]["p50 ms"] = metrics.percentile(latencies[label], 50)
            report.modes[label]["p95 ms"] = metrics.percentile(latencies[label], 95)
    return report


def _run(index: Index, queries: dict[str, str], names: dict[str, str], mode: str, depth: int,
         latencies: list[float]) -> dict[str, list[str]]:
    """Rank documents for every query in one mode, appending each search's latency (embedding excluded)."""
    run: dict[str, list[str]] = {}
    for query_id, text in queries.items():
        started = time.perf_counter()
        passages = index.search(text, k=depth, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        run[query_id] = document_ranking([passage.source for passage in passages], names)
    return run
