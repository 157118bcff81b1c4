"""SIGKILL during ``rag ingest``: the index on disk is always one complete generation, old or new.

Each round changes the corpus (files edited, added, removed), starts ``rag ingest`` in a
subprocess and kills it at a random moment of its run (the run's length is measured once
first). Then the index must open and search exactly as it did before the kill, or exactly as
the finished update does; and the next ingest must complete. The subprocess runs the real CLI,
scan and store code; only the model is ``FakeEmbedder``, because atomicity is the store's job
and the real model would spend each run's seconds loading, far from the write.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, FakeEmbedder

import rag
from app.cli import EXIT_OK, main

pytestmark = pytest.mark.slow  # repeated SIGKILLs of real ingest processes

KILLS = 10
FILES = 200
WORDS = ["harvest", "county", "river", "mountain", "course", "secretary", "lecture", "opening", "address",
         "committee", "report", "festival", "tractor", "orchard", "walnut", "chestnut", "cooperative", "railway",
         "bridge", "school", "hospital", "library", "theatre", "museum", "factory", "mine", "dam", "canal", "harbour",
         "airport", "forest", "wetland", "glacier", "volcano", "desert", "valley", "plateau"]
QUESTIONS = ["walnut orchard harvest", "railway bridge canal", "school library theatre", "volcano glacier valley"]
LAUNCHER = f"""
import sys
sys.path.insert(0, {str(ROOT / "tests")!r})
from conftest import ROOT, FakeEmbedder
import rag.index
from app.cli import main
rag.index.make_embedder = lambda *args, **kwargs: FakeEmbedder()
sys.exit(main(sys.argv[1:]))
"""


def _write_document(folder: Path, number: int, version: int, rng: random.Random) -> None:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 900)))
    (folder / f"doc{number:04d}.txt").write_text(f"Report {number} version {version}\n\n{words}\n")


def _change_corpus(folder: Path, version: int, rng: random.Random) -> None:
    """Edit eight files, add three, remove one: every kind of change a Writer makes."""
    existing = sorted(folder.iterdir())
    for path in rng.sample(existing, 8):
        _write_document(folder, int(path.stem[3:]), version, rng)
    rng.choice(existing).unlink()
    for number in range(FILES + 3 * version, FILES + 3 * version + 3):
        _write_document(folder, number, version, rng)


def _state(index_dir: Path) -> tuple:
    """Everything a user sees of the index: its documents and what each question finds."""
    index = rag.load_index(index_dir, embedder=FakeEmbedder())
    try:
        documents = tuple((row.doc_id, row.n_chunks, row.n_chars) for row in index.documents())
        results = tuple(
            tuple((passage.source, passage.start, passage.end, round(passage.score, 5)) for passage in
                  index.search(question, k=5))
            for question in QUESTIONS
        )
    finally:
        index.store.close()
    return documents, results


def _start_ingest(folder: Path, index_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, "ingest", str(folder), "--index", str(index_dir)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)



def test_sigkill_during_an_update_leaves_the_old_or_the_new_index(tmp_path: Path, fake_model: None):
    rng = random.Random(20261122)
    folder, index_dir = tmp_path / "docs", tmp_path / "index"
    folder.mkdir()
    for number in range(FILES):
        _write_document(folder, number, 0, rng)
    assert main(["ingest", str(folder), "--index", str(index_dir)]) == EXIT_OK

    _change_corpus(folder, 1, rng)  # one complete update in a subprocess, to time a run
    started = time.perf_counter()
    run = _start_ingest(folder, index_dir)
    assert run.wait(timeout=60) == EXIT_OK, run.stderr.read() if run.stderr else ""
    duration = time.perf_counter() - started

    kills = old_states = new_states = partial_generations = version = 0
    while kills < KILLS and version < 3 * KILLS:
        version += 1
        before = _state(index_dir)
        _change_corpus(folder, version + 1, rng)
        run = _start_ingest(folder, index_dir)
        time.sleep(rng.uniform(0.35, 1.0) * duration)  # the first third is Python importing modules
        run.send_signal(signal.SIGKILL)
        if run.wait(timeout=30) != -signal.SIGKILL:
            continue  # it finished first: no kill this round
        kills += 1
        partial_generations += any(".tmp-" in path.name for path in index_dir.iterdir())
        after_kill = _state(index_dir)
        assert main(["ingest", str(folder), "--index", str(index_dir)]) == EXIT_OK
        finished = _state(index_dir)
        assert after_kill in (before, finished), f"kill {kills} at round {version} left a mixed index"
        old_states += after_kill == before and before != finished
        new_states += after_kill == finished and before != finished
        assert sorted(path.name for path in index_dir.iterdir() if path.name.startswith("gen-")) == [
            rag.load_index(index_dir, embedder=FakeEmbedder()).store.manifest.generation]
    assert kills == KILLS, f"only {kills} of {version} runs were killed before they finished"
    # some kills hit the write itself or came after the swap, not all during start-up
    assert partial_generations + new_states >= 1, (partial_generations, old_states, new_states)
    # and after all that the index is the one a fresh build gives
    rag.build_index(folder, tmp_path / "fresh", embedder=FakeEmbedder())
    assert _state(index_dir) == _state(tmp_path / "fresh")
    print(f"\n{kills} kills in {version} rounds of {duration:.1f} s: {old_states} left the old index, "
          f"{new_states} the new one, {partial_generations} a half-written generation")
