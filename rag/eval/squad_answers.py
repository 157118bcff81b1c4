"""SQuAD v1.1 dev as an answering benchmark, the way the product is used: one index over many paragraphs.

The articles are sorted by title and cut in two halves: the first is the only data the answerer is
fitted on, the second is kept for judging. In a half, every paragraph is a file of one folder; some
paragraphs are removed from the index, so that their questions become unanswerable (those whose gold
answers appear in no remaining paragraph; the others are dropped as ambiguous).

    first, second = read_halves("../shared/bench/squad-dev-v1.1.json.gz")
    index, cases = prepare(second, Path(".rag/squad-half2"), removed=150, seed=0)
    print(answer_report(index, cases))   # containment, abstentions, median words
"""

from __future__ import annotations

import html
import random
import shutil
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import Settings, load_settings
from ..embedding import Embedder
from ..index import Index, build_index
from ..markers import MARKER
from . import metrics
from .benchmarks import squad_articles


@dataclass(frozen=True)
class Paragraph:
    name: str  # file name in the corpus folder
    title: str
    article: str
    context: str
    questions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (id, question, gold answers)


@dataclass(frozen=True)
class Case:
    """One question of a draw: answerable when its paragraph is in the index."""

    id: str
    question: str
    answers: tuple[str, ...]
    article: str
    answerable: bool
    context: str = ""  # the paragraph the question was written on


def read_halves(path: str | Path) -> tuple[list[Paragraph], list[Paragraph]]:
    """The paragraphs of the first and of the second half of the articles, sorted by title."""
    articles = sorted(squad_articles(path), key=lambda article: article["title"])
    halves: list[list[Paragraph]] = [[], []]
    middle = len(articles) // 2
    for number, article in enumerate(articles):
        for paragraph_number, paragraph in enumerate(article["paragraphs"]):
            questions = tuple((qa["id"], qa["question"], tuple(answer["text"] for answer in qa["answers"]))
                              for qa in paragraph["qas"])
            halves[number >= middle].append(Paragraph(f"{number:02d}-{paragraph_number:03d}.html",
                                                      article["title"].replace("_", " "), article["title"],
                                                      paragraph["context"], questions))
    return halves[0], halves[1]


def _write(paragraphs: Sequence[Paragraph], folder: Path, whole_articles: bool = False) -> None:
    """One file per paragraph (``<h1>`` title, then the text), or per article with its paragraphs in order."""
    files: dict[str, list[Paragraph]] = {}
    for paragraph in paragraphs:
        files.setdefault(f"{paragraph.name[:2]}.html" if whole_articles else paragraph.name, []).append(paragraph)
    folder.mkdir(parents=True, exist_ok=True)
    for name, parts in files.items():
        body = "\n\n".join(f"<p>{html.escape(part.context, quote=False)}</p>" for part in parts)
        content = f"<h1>{html.escape(parts[0].title, quote=False)}</h1>\n\n{body}\n"
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")


def prepare(paragraphs: Sequence[Paragraph], work: Path, removed: int, seed: int, settings: Settings | None = None,
            embedder: Embedder | None = None, whole_articles: bool = False) -> tuple[Index, list[Case]]:
    """An index of the paragraphs less ``removed`` drawn with ``seed``, and the labelled questions.

    Each paragraph is a file (the judged setting), or with ``whole_articles`` each article is one
    file of several chunks, as documents usually are. The whole half is indexed once under
    ``work/full``; a draw copies that index and removes or edits files, which embeds little.
    """
    settings = settings or load_settings()
    layout = "articles" if whole_articles else "paragraphs"
    full_docs, full_index = work / f"full-{layout}" / "docs", work / f"full-{layout}" / "index"
    _write(paragraphs, full_docs, whole_articles)
    build_index(full_docs, full_index, settings=settings, embedder=embedder)
    gone = set(random.Random(seed).sample(range(len(paragraphs)), removed))
    draw = work / f"draw-{layout}-{removed}-{seed}"
    shutil.rmtree(draw, ignore_errors=True)
    shutil.copytree(full_index, draw / "index")
    _write([paragraph for number, paragraph in enumerate(paragraphs) if number not in gone], draw / "docs",
           whole_articles)
    index = build_index(draw / "docs", draw / "index", settings=replace(settings, index_dir=str(draw / "index")),
                        embedder=embedder)
    kept = "\n\x00\n".join(paragraph.context.lower() for number, paragraph in enumerate(paragraphs) if number not in gone)
    cases = []
    for number, paragraph in enumerate(paragraphs):
        for identifier, question, answers in paragraph.questions:
            elsewhere = any(answer.lower() in kept for answer in answers)
            if number in gone and elsewhere:
                continue  # ambiguous: its answer is still written in some other paragraph
            cases.append(Case(identifier, question, answers, paragraph.article, number not in gone,
                              paragraph.context))
    return index, cases


def reply_words(text: str) -> int:
    """Words of a reply, citation markers left out."""
    return len(MARKER.sub(" ", text).split())


def answer_report(index: Index, cases: Sequence[Case], k: int = 5, limit: int | None = None,
                  seed: int = 0) -> dict[str, float]:
    """Containment (a gold answer in the reply; an abstention is wrong), abstention rates, median words.

    ``limit`` answers a random sample of that many answerable and as many unanswerable questions.
    """
    answerable = [case for case in cases if case.answerable]
    unanswerable = [case for case in cases if not case.answerable]
    if limit is not None:
        rng = random.Random(seed)
        answerable = rng.sample(answerable, min(limit, len(answerable)))
        unanswerable = rng.sample(unanswerable, min(limit, len(unanswerable)))
    with index.embedder.pinned([case.question.strip() for case in [*answerable, *unanswerable]]):
        right, abstained, words = [], [], []
        for case in answerable:
            answer = index.ask(case.question, k=k)
            right.append(not answer.abstained and metrics.answer_correct(answer.text, case.answers))
            abstained.append(answer.abstained)
            if not answer.abstained:
                words.append(reply_words(answer.text))
        declined = [index.ask(case.question, k=k).abstained for case in unanswerable]
    return {"answerable": len(answerable), "unanswerable": len(unanswerable),
            "containment": metrics.mean(right) or 0.0, "answerable abstained": metrics.mean(abstained) or 0.0,
            "unanswerable abstained": metrics.mean(declined) or 0.0,
            "median reply words": statistics.median(words) if words else 0.0}
