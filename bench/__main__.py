"""``python -m bench``: ingest, re-ingest, query, cold start, memory and scale rows on a public corpus.

    python -m bench                          # SQuAD v1.1 dev, all rows, scale 100k and 1M (~15 min, 2 cores)
    python -m bench --limit 200 --scale 100000 --skip langchain   # a quick run
    python -m bench --corpus DIR             # any folder of .txt/.md files
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

from .corpus import DEFAULT_SQUAD, Corpus, folder_corpus, squad_corpus
from .report import markdown, write_json

STEPS = ("langchain", "reingest", "query", "cold", "memory", "scale", "bm25")
log = logging.getLogger("bench")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder of documents (default: SQuAD v1.1 dev paragraphs)")
    parser.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help=f"SQuAD json.gz (default {DEFAULT_SQUAD})")
    parser.add_argument("--limit", type=int, help="only the first N SQuAD paragraphs")
    parser.add_argument("--work", type=Path, default=Path(".rag/bench/work"), help="scratch folder (documents, indexes)")
    parser.add_argument("--out", type=Path, default=Path(".rag/bench/results.json"), help="JSON results")
    parser.add_argument("--scale", default="100000,1000000", help="vector counts for the FAISS rows ('' to skip)")
    parser.add_argument("--bm25-scale", type=int, default=100_000, help="chunk count for the BM25 scale row")
    parser.add_argument("--sigma", type=float, default=0.03, help="noise added to repeated vectors")
    parser.add_argument("--queries", type=int, default=100, help="warm queries per row")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to skip: {','.join(STEPS)}")
    return parser.parse_args(argv)


def environment() -> dict[str, Any]:
    import torch

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "platform": platform.platform(), "argv": sys.argv,
            "load_average": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # only our logger talks: sentence-transformers shows progress bars whenever its logger is at INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s bench: %(message)s", datefmt="%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    for name in ("RAG_LLM_BASE_URL", "RAG_LLM_MODEL", "RAG_INDEX"):  # an LLM would time the network, not us
        os.environ.pop(name, None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    skip = {step.strip() for step in args.skip.split(",") if step.strip()}
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log.info("writing the corpus to %s", work / "docs")
    corpus: Corpus = folder_corpus(args.corpus, work) if args.corpus else squad_corpus(args.squad, work, args.limit)
    questions = list(corpus.questions)
    random.Random(0).shuffle(questions)
    results: dict[str, Any] = {"corpus": corpus.name, "environment": environment()}

    from . import ingest, process, query, scale

    index_dir = work / "index"
    results["ingest"], index, texts = ingest.full_ingest(corpus, index_dir, langchain="langchain" not in skip)
    results["index"] = index.info()
    write_json(results, args.out)
    if "reingest" not in skip:
        results["reingest"] = ingest.reingest(corpus, index_dir, results["ingest"]["ours_s"])
        write_json(results, args.out)
    if "query" not in skip:
        import rag

        index = rag.load_index(index_dir)
        results["query"] = query.query_latency(index, questions, per_row=args.queries)
        results["query"]["hybrid_profile"] = query.profile_hybrid(index, questions[-50:])
        write_json(results, args.out)
    if "cold" not in skip:
        results["cold_start"] = process.cold_start(index_dir, questions[0])
        write_json(results, args.out)
    if "memory" not in skip:
        results["memory"] = process.peak_memory(corpus.folder, index_dir, work / "index-memory", questions, work)
        write_json(results, args.out)
    sizes = [int(size) for size in args.scale.split(",") if size.strip()]
    if sizes and "scale" not in skip:
        vectors = index.store.vectors_of(sorted(int(i) for i in index.store.lexical.chunk_ids))
        results["scale"] = []
        for size in sizes:
            results["scale"].append(scale.faiss_at(vectors, size, sigma=args.sigma))
            write_json(results, args.out)
    if "bm25" not in skip and args.bm25_scale:
        results["bm25_scale"] = scale.bm25_at(texts, questions, size=args.bm25_scale)
    results["total_s"] = time.perf_counter() - started
    write_json(results, args.out)
    print(f"## Benchmark: {corpus.name}, {results['environment']['cpus']} CPUs, {results['total_s'] / 60:.1f} min\n")
    print(markdown(results))
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
