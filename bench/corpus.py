"""Benchmark data to files: SQuAD v1.1 dev paragraphs (default) or any folder, one long text file,
and the seeds with their eval questions.

SQuAD paragraphs become one ``.txt`` file each (title on the first line), and its questions
serve as realistic queries. A plain folder gets queries cut from its own files. The long file
(about 200 pages of distinct SQuAD paragraphs) is what a one-paragraph edit is measured on.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_SQUAD = Path("/work/shared/bench/squad-dev-v1.1.json.gz")
ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_QUESTIONS = ROOT / "eval" / "seeds.jsonl"
EDIT = " This sentence was added by benchmark edit {round_number}."


@dataclass(frozen=True)
class Corpus:
    """A folder of documents and questions to ask about it."""

    folder: Path
    files: list[Path]
    questions: list[str]
    name: str


def squad_articles(source: Path) -> list[dict[str, Any]]:
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        return list(json.load(handle)["data"])


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def squad_corpus(source: Path, work: Path, limit: int | None = None) -> Corpus:
    """Write every SQuAD dev paragraph (or the first ``limit``) to ``work/docs`` as one file."""
    folder = _fresh(work / "docs")
    files: list[Path] = []
    questions: list[str] = []
    for article in squad_articles(source):
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


def long_document(source: Path, folder: Path, pages: int = 200, page_chars: int = 3000) -> Path:
    """One ``.txt`` of about ``pages * page_chars`` characters: distinct SQuAD paragraphs, last article
    first (away from the paragraphs of the main corpus), separated by blank lines."""
    paragraphs: list[str] = []
    size = 0
    for article in reversed(squad_articles(source)):
        for paragraph in article["paragraphs"]:
            if size >= pages * page_chars:
                break
            text = " ".join(paragraph["context"].split())
            paragraphs.append(text)
            size += len(text) + 2
    path = _fresh(folder) / "long-document.txt"
    path.write_text("A long document\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def edit_paragraph(path: Path, round_number: int) -> None:
    """Add one sentence to the paragraph in the middle of ``path`` (paragraphs are separated by blank lines)."""
    paragraphs = path.read_text(encoding="utf-8").split("\n\n")
    middle = len(paragraphs) // 2
    paragraphs[middle] += EDIT.format(round_number=round_number)
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")


def seed_questions() -> list[str]:
    """The opening questions of the seeds eval (follow-ups need their conversation)."""
    if not SEED_QUESTIONS.is_file():
        return []
    rows = [json.loads(line) for line in SEED_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["question"] for row in rows if not row.get("follows")]


def _slug(title: str) -> str:
    return re.sub(r"[^\w]+", "-", title).strip("-")[:40] or "doc"
