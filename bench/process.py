"""Whole-process rows: cold start of ``rag ask`` and ``rag search``, and peak memory (max RSS) of child processes.

Peak memory is the child's own ``VmHWM`` (read from ``/proc/self/status`` as it exits). The
``ru_maxrss`` that ``getrusage``/``wait4`` give for a child is useless here: Linux carries the
parent's peak RSS across fork + exec into the child's figure, so every child of a bench process
that holds the model reports the bench's own ~1.1 GB. Both are recorded.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SERVE = """
import json, sys
import rag
questions = json.load(open(sys.argv[2]))
index = rag.load_index(sys.argv[1])
for question in questions:
    index.search(question)
"""

_INGEST = "import sys, rag; rag.build_index(sys.argv[1], sys.argv[2], rebuild=True)"
_PEAK = "\nprint([line for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"


def run_child(command: list[str]) -> tuple[float, int, int]:
    """Wall seconds, ``ru_maxrss`` from ``wait4`` and ``VmHWM`` (0 if not printed), both in bytes."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert child.stdout is not None
    output = errors = child.stdout.read()  # one pipe, read to its end; wait4 then reaps the child itself
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {errors.decode(errors='replace')[-500:]}")
    peaks = [line for line in output.decode(errors="replace").splitlines() if line.startswith("VmHWM")]
    high_water = int(peaks[-1].split()[1]) * 1024 if peaks else 0
    return seconds, usage.ru_maxrss * 1024, high_water  # Linux reports kilobytes


def seeds_index(seeds: Path, work: Path) -> Path:
    """The seeds indexed afresh at ``work/index-seeds``, for the cold-start rows."""
    import rag

    index_dir = work / "index-seeds"
    log.info("building the seeds index at %s", index_dir)
    rag.build_index(seeds, index_dir, rebuild=True)
    return index_dir


def cold_start(index_dir: Path, questions: list[str], runs: int = 5) -> dict[str, Any]:
    """Median wall time of fresh ``rag ask`` and ``rag search`` processes against
    ``python -c 'import sentence_transformers'``, interleaved round by round, a new question each round."""
    rag = str(Path(sys.executable).parent / "rag")
    samples: dict[str, list[float]] = {"import": [], "ask": [], "search": []}
    for round_number in range(runs):
        question = questions[round_number % len(questions)]
        log.info("cold start, round %d of %d", round_number + 1, runs)
        samples["import"].append(run_child([sys.executable, "-c", "import sentence_transformers"])[0])
        samples["ask"].append(run_child([rag, "ask", question, "--index", str(index_dir)])[0])
        samples["search"].append(run_child([rag, "search", question, "--index", str(index_dir)])[0])
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {"import_sentence_transformers_s": medians["import"], "rag_ask_s": medians["ask"],
            "rag_search_s": medians["search"], "ask_ratio": medians["ask"] / medians["import"],
            "search_ratio": medians["search"] / medians["import"], "runs": runs,
            **{f"{name}_runs": values for name, values in samples.items()}, "index": str(index_dir)}


def peak_memory(folder: Path, index_dir: Path, scratch_index: Path, questions: list[str], work: Path) -> dict[str, Any]:
    """Max RSS of a full ingest and of a server process (load + 50 queries)."""
    log.info("peak memory: full ingest in a child process")
    ingest_seconds, ingest_wait4, ingest_rss = run_child(
        [sys.executable, "-c", _INGEST + _PEAK, str(folder), str(scratch_index)])
    question_file = work / "serve_questions.json"
    question_file.write_text(json.dumps(questions[:50]), encoding="utf-8")
    log.info("peak memory: load + 50 queries in a child process")
    serve_seconds, serve_wait4, serve_rss = run_child(
        [sys.executable, "-c", _SERVE + _PEAK, str(index_dir), str(question_file)])
    _, import_wait4, import_rss = run_child([sys.executable, "-c", "import sentence_transformers" + _PEAK])
    return {"ingest_max_rss_bytes": ingest_rss, "ingest_child_s": ingest_seconds,
            "serve_max_rss_bytes": serve_rss, "serve_child_s": serve_seconds,
            "import_sentence_transformers_max_rss_bytes": import_rss,
            "wait4_ru_maxrss_bytes (inherits the bench's peak)": [ingest_wait4, serve_wait4, import_wait4]}
