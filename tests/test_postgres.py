"""What only the PostgreSQL store promises: shared by processes, one transaction per ingest, `rag postgres`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, SERVER_ENV, FakeEmbedder, postgres_data

import rag
from app.cli import main
from rag.store.postgres import redact


def test_redact_drops_the_password_wherever_it_is() -> None:
    assert redact("postgresql://me:s3cret@db.example:5432/rag?sslmode=require") == \
        "postgresql://me@db.example:5432/rag?sslmode=require"
    assert redact("postgresql://me@/rag?host=/run/pg&password=s3cret") == "postgresql://me@/rag?host=/run/pg"


def test_info_names_the_store_without_its_password(postgres_url: str, tmp_path: Path) -> None:
    with_password = postgres_url.replace("postgres:@", "postgres:s3cret@")  # the bundled server trusts local users
    settings = rag.Settings(index_dir=str(tmp_path / "index"), model="fake", store_url=with_password)
    info = rag.build_index(SEEDS, settings=settings, embedder=FakeEmbedder()).info()
    assert info.store.startswith("postgresql://postgres@/") and "s3cret" not in info.store
    assert info.bytes_on_disk > 0


def test_two_chat_processes_on_one_database_see_each_others_uploads(postgres_url: str, tmp_path: Path) -> None:
    """Two Index objects with their own upload folders stand in for two `rag chat` processes."""
    first_settings = rag.Settings(index_dir=str(tmp_path / "one"), model="fake", store_url=postgres_url)
    first = rag.build_index(SEEDS, settings=first_settings, embedder=FakeEmbedder())
    second = rag.load_index(settings=rag.Settings(index_dir=str(tmp_path / "two"), model="fake", store_url=postgres_url),
                            embedder=FakeEmbedder())
    upload = tmp_path / "zeppelins.txt"
    upload.write_text("The zeppelin hangar stores three airships.\n", encoding="utf-8")
    first.add_files([upload])
    assert second.search("zeppelin hangar airships", k=1)[0].source == "uploads/zeppelins.txt"
    assert second.info().documents == first.info().documents == 3
    second.delete_document("uploads/zeppelins.txt")
    assert "uploads/zeppelins.txt" not in [document.doc_id for document in first.documents()]


KILLED_INGEST = """
import sys, time
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import FakeEmbedder
import rag
from rag.store.postgres import writer

marker, where = Path(sys.argv[3]), sys.argv[4]

class Stuck(FakeEmbedder):
    def embed(self, texts, progress=False):
        if where == "embedding" and len(texts) > 50:  # the big file
            marker.write_text("embedding")
            time.sleep(600)
        return super().embed(texts, progress)

def stuck_commit(self):
    marker.write_text("commit")  # every row is written, nothing committed
    time.sleep(600)

writer.PostgresWriter.commit = stuck_commit
rag.build_index(sys.argv[1], settings=rag.Settings(index_dir=sys.argv[2], model="fake", store_url=sys.argv[5]),
                embedder=Stuck())
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["embedding", "commit"])
def test_an_ingest_killed_mid_way_leaves_the_old_state(postgres_url: str, seeds_copy: Path, tmp_path: Path,
                                                       where: str) -> None:
    settings = rag.Settings(index_dir=str(tmp_path / "index"), model="fake", store_url=postgres_url)
    index = rag.build_index(seeds_copy, settings=settings, embedder=FakeEmbedder())
    before = (index.documents(), [passage.chunk_id for passage in index.search("short course", k=5)])
    big = "\n\n".join(f"Paragraph {n} of the big report talks about turbines and valve number {n}." for n in range(4000))
    (seeds_copy / "big.txt").write_text(big, encoding="utf-8")
    (seeds_copy / "001_b8239f67380c7682.txt").unlink()  # the ingest also removes a file
    marker = tmp_path / "marker"
    process = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, str(seeds_copy), settings.index_dir, str(marker),
                                where, postgres_url], cwd=ROOT, env=SERVER_ENV)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.read_text() == where
        # while the writer holds its rows uncommitted, readers see the old state
        assert (index.documents(), [passage.chunk_id for passage in index.search("short course", k=5)]) == before
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    reopened = rag.load_index(settings=settings, embedder=FakeEmbedder())
    assert (reopened.documents(), [passage.chunk_id for passage in reopened.search("short course", k=5)]) == before
    assert reopened.info().chunks == index.info().chunks
    report = reopened.ingest(seeds_copy)  # the dead writer's lock went with its connection
    assert report.added == ["big.txt"] and report.removed == ["001_b8239f67380c7682.txt"]


def test_the_cli_takes_a_store_url(postgres_url: str, tmp_path: Path, fake_model: None,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    index = str(tmp_path / "index")
    assert main(["ingest", str(SEEDS), "--store", postgres_url, "--index", index, "--model", "fake"]) == 0
    capsys.readouterr()
    assert main(["info", "--store", postgres_url, "--index", index]) == 0
    out = capsys.readouterr().out
    assert "store          postgresql://postgres@/" in out and "documents      2" in out
    assert main(["search", "opening address", "--store", postgres_url, "-k", "1"]) == 0
    assert main(["verify", "--store", postgres_url]) == 1


@pytest.mark.slow
def test_rag_postgres_start_prints_a_url_that_works_and_stop_stops_it(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with postgres_data() as data:
        assert main(["postgres", "start", "--data", str(data)]) == 0
        url = capsys.readouterr().out.strip().splitlines()[-1]
        assert url.startswith("postgresql://") and (data / "PG_VERSION").exists()
        index = rag.build_index(SEEDS, settings=rag.Settings(index_dir=str(tmp_path / "index"), model="fake",
                                                              store_url=url), embedder=FakeEmbedder())
        assert index.info().documents == 2
        assert main(["postgres", "start", "--data", str(data)]) == 0  # already running: the same URL
        assert capsys.readouterr().out.strip().splitlines()[-1] == url
        assert main(["postgres", "stop", "--data", str(data)]) == 0
        assert "Stopped" in capsys.readouterr().out
        assert main(["postgres", "stop", "--data", str(data)]) == 0
        assert "No PostgreSQL was running" in capsys.readouterr().out


@pytest.mark.slow
def test_a_stopped_server_is_one_sentence_and_a_restarted_one_is_used_again(tmp_path: Path) -> None:
    from rag.errors import RagError
    from rag.store.postgres import server

    with postgres_data() as data:
        url = server.start(data)
        index = rag.build_index(SEEDS, settings=rag.Settings(index_dir=str(tmp_path / "index"), model="fake",
                                                              store_url=url), embedder=FakeEmbedder())
        server.stop(data)
        with pytest.raises(RagError) as caught:
            index.search("short course")
        assert "PostgreSQL database" in str(caught.value) and "\n" not in str(caught.value)
        assert server.start(data) == url
        assert index.search("short course", k=1)[0].rank == 1
