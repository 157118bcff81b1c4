"""Public benchmarks read into one shape: BEIR folders (SciFact) and SQuAD v1.1 dev.

BEIR's formats, not its code: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``), ``qrels/<split>.tsv``; judgments as ``{query_id: {doc_id: relevance}}``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RagError


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


def squad_articles(path: str | Path) -> list[dict[str, Any]]:
    """The articles of a SQuAD v1.1 JSON file (``.json`` or ``.json.gz``)."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            articles = json.load(handle)["data"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BenchmarkError(f"Cannot read SQuAD file {path} ({error}); pass a SQuAD v1.1 JSON file.") from None
    return list(articles)


def read_squad(path: str | Path) -> Benchmark:
    """SQuAD v1.1 as passage retrieval: each paragraph a document titled by its article."""
    path = Path(path)
    articles = squad_articles(path)
    corpus: dict[str, tuple[str, str]] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for article_number, article in enumerate(articles):
        title = article["title"].replace("_", " ")
        for paragraph_number, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{article_number:03d}-{paragraph_number:03d}"
            corpus[doc_id] = (title, paragraph["context"])
            for qa in paragraph["qas"]:
                queries[qa["id"]] = qa["question"]
                qrels[qa["id"]] = {doc_id: 1}
    return Benchmark(path.name.removesuffix(".gz").removesuffix(".json"), corpus, queries, qrels)
