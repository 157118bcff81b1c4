"""``python -m bench``: ingest, re-ingest, one-paragraph edit, warm query, cold start, memory and scale
rows, each beside the baseline it is measured against in the same run.

    python -m bench                          # 300 SQuAD v1.1 dev paragraphs, all rows, scale 100k and 1M (~25 min, 2 cores)
    # (the first run also embeds 61k SciFact and SQuAD texts for the scale rows, ~13 min, cached in .rag/bench/vectors)
    python -m bench --limit 300 --scale '' --skip memory,bm25   # quick mode (~6 min): the rows issue 12 judges
    python -m bench --limit 0                # every SQuAD dev paragraph (2,067)
    python -m bench --limit 30 --skip cold-ingest,langchain,reingest,edit,query,cold,memory,bm25   # the vector-index rows only
    python -m bench --corpus DIR             # any folder of .txt/.md files (the long-file rows still use SQuAD)

Set ``RAG_BACKEND`` (onnx-int8, onnx, torch) to measure another embedding backend; ``make bench``
installs the LangChain baseline (``pip install -e '.[bench]'``), without which its row says skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from .corpus import DEFAULT_SQUAD, SEEDS, Corpus, folder_corpus, seed_questions, squad_corpus
from .report import markdown, write_json

STEPS = ("cold-ingest", "langchain", "reingest", "edit", "query", "cold", "memory", "scale", "bm25")
KEYS = {"cold-ingest": "ingest_cold", "cold": "cold_start", "bm25": "bm25_scale"}  # step -> its key in the results
PACKAGES = ("onnxruntime", "tokenizers", "faiss-cpu", "bm25s", "numpy", "torch", "sentence-transformers",
            "langchain-community")
log = logging.getLogger("bench")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder of documents (default: SQuAD v1.1 dev paragraphs)")
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help=f"SQuAD json.gz (default {DEFAULT_SQUAD})")
    parser.add_argument("--limit", type=int, default=300, help="first N SQuAD paragraphs (default 300; 0 for all)")
    parser.add_argument("--work", type=Path, default=Path(".rag/bench/work"), help="scratch folder (documents, indexes)")
    parser.add_argument("--out", type=Path, default=Path(".rag/bench/results.json"), help="JSON results")
    parser.add_argument("--scale", default="100000,1000000", help="vector counts for the FAISS rows ('' to skip)")
    parser.add_argument("--bm25-scale", type=int, default=100_000, help="chunk count for the BM25 scale row")
    parser.add_argument("--sigma", type=float, default=None, help="noise on synthetic scale vectors (bench/scale.py)")
    parser.add_argument("--pgvector-scale", type=int, default=100_000, help="largest scale row pgvector joins (0: none)")
    parser.add_argument("--queries", type=int, default=100, help="warm queries per row")
    parser.add_argument("--ingest-runs", type=int, default=2, help="warm and cold ingest rounds (median)")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold ask/search rounds (median)")
    parser.add_argument("--pages", type=int, default=200, help="3,000-character pages of the long file")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to skip: {','.join(STEPS)}")
    args = parser.parse_args(argv)
    args.skip = {step.strip() for step in args.skip.split(",") if step.strip()}
    if args.skip - set(STEPS):
        parser.error(f"unknown steps to skip: {', '.join(sorted(args.skip - set(STEPS)))}")
    return args


def environment() -> dict[str, Any]:
    """Where and with what the bench ran; package versions come from their metadata, so torch is not imported."""
    from rag.config import load_settings

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    settings = load_settings()
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "backend": settings.backend, "model": settings.model, "argv": sys.argv,
            "load_average": os.getloadavg(), **{name: version(name) for name in PACKAGES}}


def _logging() -> None:
    # only our logger talks: sentence-transformers shows progress bars whenever its logger is at INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s bench: %(message)s", datefmt="%H:%M:%S"))
    log.addHandler(handler)  # bench.ingest, bench.query ... log through it
    log.setLevel(logging.INFO)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    _logging()
    for name in ("RAG_LLM_BASE_URL", "RAG_LLM_MODEL", "RAG_INDEX"):  # an LLM would time the network, not us
        os.environ.pop(name, None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    skip = args.skip
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log.info("writing the corpus to %s", work / "docs")
    corpus: Corpus = (folder_corpus(args.corpus, work) if args.corpus else
                      squad_corpus(args.squad, work, args.limit or None))
    questions = list(dict.fromkeys(corpus.questions))
    random.Random(0).shuffle(questions)
    results: dict[str, Any] = {"corpus": corpus.name, "environment": environment()}

    from . import edit, ingest, process, query, scale

    index_dir = work / "index"
    results["ingest"], index, texts = ingest.full_ingest(corpus, index_dir, runs=args.ingest_runs)
    results["index"] = dataclasses.asdict(index.info())
    write_json(results, args.out)
    sizes = [int(size) for size in args.scale.split(",") if size.strip()]
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("cold-ingest", lambda: ingest.cold_ingest(corpus.folder, texts, work, "langchain" not in skip, args.ingest_runs)),
        ("reingest", lambda: ingest.reingest(corpus, index_dir, results["ingest"]["ours_s"])),
        ("edit", lambda: edit.one_paragraph(args.squad, work, pages=args.pages)),
        ("query", lambda: query.warm_rows(index_dir, questions, per_row=args.queries)),
        ("cold", lambda: process.cold_start(process.seeds_index(SEEDS, work), seed_questions() or questions,
                                            runs=args.cold_runs)),
        ("memory", lambda: process.peak_memory(corpus.folder, index_dir, work / "index-memory", questions, work)),
        ("scale", lambda: scale_rows(args, work, sizes)),
        ("bm25", lambda: scale.bm25_at(texts, questions, size=args.bm25_scale)),
    ]
    unavailable = {"edit": not args.squad.is_file(), "scale": not sizes, "bm25": not args.bm25_scale}
    for name, rows in steps:
        if name not in skip and not unavailable.get(name):
            _run(results, name, rows)
            write_json(results, args.out)
    results["total_s"] = time.perf_counter() - started
    results["environment"]["load_average_end"] = os.getloadavg()
    write_json(results, args.out)
    machine = results["environment"]
    print(f"## Benchmark: {corpus.name}, backend {machine['backend']}, {machine['cpus']} CPUs, "
          f"load average {machine['load_average'][0]:.1f}, {results['total_s'] / 60:.1f} min\n")
    print(markdown(results))
    print(f"\nJSON: {args.out}")
    return 1 if results.get("failed") else 0


def scale_rows(args: argparse.Namespace, work: Path, sizes: list[int]) -> list[dict[str, Any]]:
    """The vector-index rows at each size, over real SciFact and SQuAD embeddings (cached) and rows drawn between them."""
    from . import scale
    from .vectors import real_vectors

    real, questions = real_vectors(args.squad)
    noise = {} if args.sigma is None else {"sigma": args.sigma}
    return [scale.faiss_at(real, questions, size, pgvector=work / "postgres" if size <= args.pgvector_scale else None,
                           **noise) for size in sizes]


def _run(results: dict[str, Any], name: str, rows: Callable[[], Any]) -> None:
    """One group of rows; a failure (often another change in progress) is reported and the others still run."""
    try:
        results[KEYS.get(name, name)] = rows()
    except Exception as error:
        log.exception("%s rows failed", name)
        results.setdefault("failed", {})[name] = f"{type(error).__name__}: {error}"


if __name__ == "__main__":
    raise SystemExit(main())
