"""Benchmark data to a folder of files: SQuAD v1.1 dev paragraphs (default) or any folder.

SQuAD paragraphs become one ``.txt`` file each (title on the first line), and its questions
serve as realistic queries. A plain folder gets queries cut from its own files.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_SQUAD = Path("/work/shared/bench/squad-dev-v1.1.json.gz")


@dataclass(frozen=True)
class Corpus:
    """A folder of documents and questions to ask about it."""

    folder: Path
    files: list[Path]
    questions: list[str]
    name: str


def squad_corpus(source: Path, work: Path, limit: int | None = None) -> Corpus:
    """Write every SQuAD dev paragraph (or the first ``limit``) to ``work/docs`` as one file."""
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        articles = json.load(handle)["data"]
    folder = work / "docs"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    files: list[Path] = []
    questions: list[str] = []
    for article in articles:
        title = article["title"].replace("_", " ")
        for paragraph in article["paragraphs"]:
            if limit is not None and len(files) >= limit:
                break
            path = folder / f"{len(files):05d}_{_slug(title)}.txt"
            path.write_text(f"{title}\n\n{paragraph['context']}\n", encoding="utf-8")
            files.append(path)
            questions.extend(qa["question"] for qa in paragraph["qas"])
    return Corpus(folder, files, questions, f"SQuAD v1.1 dev ({len(files)} paragraphs)")


def folder_corpus(folder: Path, work: Path) -> Corpus:
    """Copy ``folder`` to ``work/docs`` (a re-ingest edits one file) and cut questions from its text."""
    target = work / "docs"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(folder, target)
    files = sorted(path for path in target.rglob("*") if path.is_file() and path.suffix.lower() in (".txt", ".md"))
    questions = []
    for path in files:
        words = re.findall(r"\w+", path.read_text(encoding="utf-8", errors="replace"))
        for start in range(0, max(len(words) - 8, 1), 40):
            questions.append(" ".join(words[start : start + 8]))
    return Corpus(target, files, [q for q in questions if q], f"{folder} ({len(files)} files)")


def _slug(title: str) -> str:
    return re.sub(r"[^\w]+", "-", title).strip("-")[:40] or "doc"
