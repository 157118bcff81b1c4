"""Eight people chatting at once with a real ``rag chat`` server while another process adds documents.

Every client asks its own questions through the ``/ask`` API with ``gradio_client``; meanwhile a
``rag ingest`` in another process embeds new files into the same index, and the server switches
to the new generation mid-load. No question may fail; p50 and p95 latency are printed (``-s``)
and recorded in the test report.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, SERVER_ENV, running_chat
from gradio_client import Client

import rag
from rag.embedding import Embedder

pytestmark = pytest.mark.slow  # a real server, eight clients and an ingest: about 30 s

CLIENTS = 8
QUESTIONS_EACH = 25
BASE_QUESTIONS = [
    "Who gave the opening address at the second short course for chief secretaries?",
    "When was the first short course held?",
    "Who gave lectures at the 2024 course?",
    "Who made the opening address at the first short course for chief secretaries?",
    "What did the general secretary say about regional development?",
]
NEW_DOCUMENT = "The Hamhung apiary cooperative doubled its honey harvest in 2025, said beekeeper Ri Chol Su.\n"


@pytest.fixture
def chat_server(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[str, Path, Path]]:
    """A server over a seeds index; yields its URL, the folder the index was built from, and the index."""
    folder, index_dir = tmp_path / "docs", tmp_path / "index"
    shutil.copytree(SEEDS, folder)
    rag.build_index(folder, index_dir, embedder=embedder)
    with running_chat(index_dir, tmp_path / "server.log") as url:
        yield url, folder, index_dir


def test_eight_clients_chat_while_another_process_adds_documents(
    chat_server: tuple[str, Path, Path], record_property: pytest.RecordProperty
):
    url, folder, index_dir = chat_server
    Client(url, verbose=False).predict(BASE_QUESTIONS[0], 5, "hybrid", api_name="/ask")  # warm the model up
    (folder / "apiary.txt").write_text(NEW_DOCUMENT * 3)
    latencies: list[float] = []
    errors: list[str] = []
    answers: list[dict] = []
    lock = threading.Lock()

    def chat(client_number: int) -> None:
        client = Client(url, verbose=False)
        for number in range(QUESTIONS_EACH):
            question = f"{BASE_QUESTIONS[number % len(BASE_QUESTIONS)]} ({client_number}.{number})"
            started = time.perf_counter()
            try:
                answer = client.predict(question, 5, "hybrid", api_name="/ask")
            except Exception as error:  # any failure counts; the message says which
                with lock:
                    errors.append(f"client {client_number} question {number}: {type(error).__name__}: {error}")
                continue
            with lock:
                latencies.append(time.perf_counter() - started)
                answers.append(answer)

    ingest = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(folder), "--index", str(index_dir)],
                              cwd=ROOT, env=SERVER_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    threads = [threading.Thread(target=chat, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    output = ingest.communicate(timeout=120)[0].decode()
    assert ingest.returncode == 0, output
    assert "added     apiary.txt" in output

    assert errors == []
    assert len(latencies) == CLIENTS * QUESTIONS_EACH
    # every reply is whole: cited sources, or an abstention that lists the closest passages
    assert [answer["question"] for answer in answers
            if not (answer["sources"] if not answer["abstained"] else answer["related"])] == []
    assert sum(not answer["abstained"] for answer in answers) >= len(answers) // 2
    p50, p95 = statistics.median(latencies), statistics.quantiles(latencies, n=20)[-1]
    record_property("ask_p50_s", round(p50, 3))
    record_property("ask_p95_s", round(p95, 3))
    print(f"\n{len(latencies)} asks from {CLIENTS} clients: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    # the server now serves the generation the other process wrote
    passages = Client(url, verbose=False).predict("apiary honey harvest Hamhung", 1, "hybrid", api_name="/search")
    assert passages[0]["source"] == "apiary.txt"
