"""``rag eval``: the seeds eval set against an index, or public benchmarks (BEIR, SQuAD).

Kept apart from ``app/cli.py`` so the harness's options live beside it; ``cli.py`` calls
``register(subcommands)`` and dispatches ``eval`` to ``run(args)``.

    rag eval                                   # eval/seeds.jsonl against .rag/index
    rag eval --beir shared/bench/scifact --squad shared/bench/squad-dev-v1.1.json.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rag.config import MODES, load_settings
from rag.errors import InvalidQueryError

DEFAULT_OUT = ".rag/eval"
BENCH_WORK = ".rag/bench"


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``eval`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    help_text = "Measure retrieval and answers on an eval set, or on public benchmarks."
    command: argparse.ArgumentParser = subparsers.add_parser("eval", help=help_text, description=help_text)
    command.add_argument("evalset", nargs="?", default="eval/seeds.jsonl",
                         help="JSONL eval set (default eval/seeds.jsonl; format in eval/README.md)")
    command.add_argument("--index", help="an existing index to evaluate (default: an index of --docs, built once and "
                                         "cached under .rag/eval-index)")
    command.add_argument("--docs", help="the folder the eval set was written for (default: seeds/ beside eval/ for "
                                        "the seeds eval set)")
    command.add_argument("--modes", nargs="+", choices=MODES, default=["dense", "bm25", "hybrid"],
                         help="retrieval modes to compare (default: all three)")
    command.add_argument("-k", type=int, default=10, help="passages retrieved per question (default 10)")
    command.add_argument("--out", default=DEFAULT_OUT, help=f"folder for report.json and plots (default {DEFAULT_OUT})")
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    command.add_argument("--misses", action="store_true", help="also list the questions each mode ranked badly")
    command.add_argument("--no-plot", action="store_true", help="skip the hit@k plot")
    command.add_argument("--no-answers", action="store_true", help="score retrieval only (skip asking every question)")
    command.add_argument("--beir", help="BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels) to benchmark")
    command.add_argument("--squad", help="SQuAD v1.1 JSON file (.json or .json.gz) to benchmark")
    command.add_argument("--squad-answers", type=int, default=400, metavar="N",
                         help="with --squad, also answer N answerable and N unanswerable questions of the held-out "
                              "half and report containment, abstentions and reply length (0 skips; default 400)")
    command.add_argument("--chunk-size", type=int, help="characters per chunk for --beir/--squad (default 20000: "
                                                         "one chunk per document)")
    command.add_argument("--fusion-weights", nargs="+", type=float, default=[],
                         help="also score hybrid with these dense weights (benchmarks only)")
    return command


def run(args: argparse.Namespace) -> int:
    """Run the evaluation that ``args`` asks for and print it; returns the exit code."""
    if args.k < 1:
        raise InvalidQueryError(f"k must be at least 1, not {args.k}.")
    if args.beir or args.squad:
        return _benchmarks(args)
    if args.chunk_size is not None or args.fusion_weights:
        raise InvalidQueryError("--chunk-size and --fusion-weights apply to --beir and --squad; to evaluate another "
                                "chunk size on the seeds, run `rag ingest --chunk-size N --index DIR`, then "
                                "`rag eval --index DIR`.")
    from rag.eval import evaluate

    report = evaluate(_eval_index(args), args.evalset, modes=args.modes, k=args.k, answers=not args.no_answers)
    written = report.write(args.out, plot=not args.no_plot)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(report.table())
    if args.misses:
        print("\nMisses (first relevant passage not at rank 1):")
        print(report.diagnostics())
    print(f"\nWrote {', '.join(str(path) for path in written)} in {report.seconds:.1f} s.")
    return 0


def _eval_index(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The index to evaluate: ``--index`` as it is, or an index of the eval set's documents, cached by folder
    and settings, so the harness never depends on whatever ``.rag/index`` holds."""
    import hashlib

    from rag.index import build_index, load_index

    if args.index:
        return load_index(settings=load_settings(index_dir=args.index))
    evalset = Path(args.evalset)
    docs = Path(args.docs) if args.docs else evalset.resolve().parent.parent / "seeds"
    if not args.docs and evalset.name != "seeds.jsonl":
        raise InvalidQueryError(f"Pass --docs with the folder {evalset} was written for, or --index with its index.")
    if not docs.is_dir():
        raise InvalidQueryError(f"No folder {docs} to index for {evalset}: pass --docs DIR or --index DIR.")
    settings = load_settings()
    key = hashlib.sha1(f"{docs.resolve()}|{sorted(settings.index_settings().items())}".encode()).hexdigest()[:12]
    return build_index(docs, Path(".rag") / "eval-index" / key, settings=settings)


def _benchmarks(args: argparse.Namespace) -> int:
    from rag.eval.benchmarks import read_beir, read_squad
    from rag.eval.runner import DEFAULT_CHUNK_SIZE, run_benchmark

    chunk_size = args.chunk_size or DEFAULT_CHUNK_SIZE
    if chunk_size < 50:
        raise InvalidQueryError(f"--chunk-size must be at least 50 characters, not {chunk_size}.")
    benchmarks = ([read_beir(args.beir)] if args.beir else []) + ([read_squad(args.squad)] if args.squad else [])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reports = []
    for benchmark in benchmarks:
        report = run_benchmark(benchmark, Path(BENCH_WORK) / benchmark.name, modes=args.modes, chunk_size=chunk_size,
                               settings=load_settings(), fusion_weights=args.fusion_weights,
                               progress=sys.stderr.isatty())
        path = out / f"{benchmark.name}-{chunk_size}.json"
        path.write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
        reports.append(report)
        if not args.json:
            print(report.table())
            print(f"Wrote {path} (index {report.seconds['index']:.0f} s).\n")
    answers = _squad_answers(args, out) if args.squad and args.squad_answers else None
    if args.json:
        print(json.dumps([report.to_dict() for report in reports] + ([answers] if answers else []), indent=2))
    return 0


def _squad_answers(args: argparse.Namespace, out: Path) -> dict[str, float]:
    """Answers on SQuAD's held-out half (the answerer is fitted on the first), 150 paragraphs removed."""
    from rag.eval.squad_answers import answer_report, prepare, read_halves

    _, held_out = read_halves(args.squad)
    index, cases = prepare(held_out, Path(BENCH_WORK) / "squad-answers", removed=150, seed=0, settings=load_settings())
    report = answer_report(index, cases, limit=args.squad_answers)
    path = out / "squad-answers.json"
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    if not args.json:
        print("SQuAD answers, held-out half (second half of the articles by title), 150 paragraphs removed:")
        for name, value in report.items():
            print(f"{name:<26}{value:.3f}" if isinstance(value, float) else f"{name:<26}{value}")
        print(f"Wrote {path}.")
    return report
