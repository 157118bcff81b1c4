"""Follow-up questions made from SQuAD, to judge how a follow-up is read.

Two questions written on the same paragraph often name the same thing ("the Amazon", "Doctor Who");
the second with that name replaced by "it" can only be answered with the first as context, as a
person in a chat would ask it. Built on the first half of the articles (the fitting half), one file
per article with 150 removed, so the paragraphs of an article compete as sections of a document do.

    python -m rag.eval.followups  # containment of the follow-ups asked with the first question as history
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import load_settings
from . import metrics
from .squad_answers import Case, prepare, read_halves

# a capitalised name of one or more words ("Doctor Who", "University of Chicago"), not the question's first word
_WORD = r"[A-Z][\w-]*(?:'(?!s\b)\w+)?"  # "O'Neill", not the possessive of "Who's"
_NAME = re.compile(rf"{_WORD}(?:\s+(?:of\s+|the\s+)?{_WORD})*")


@dataclass(frozen=True)
class FollowUp:
    previous: str
    question: str
    answers: tuple[str, ...]


def follow_ups(cases: Sequence[Case], limit: int = 300, seed: int = 7) -> list[FollowUp]:
    """For each answerable question sharing a name with another of its paragraph, itself with the longest such
    name replaced by "it" ("its" for a possessive), the other question as what came before."""
    by_paragraph: dict[str, list[Case]] = {}
    for case in cases:
        if case.answerable:
            by_paragraph.setdefault(case.context, []).append(case)
    made = []
    for group in by_paragraph.values():
        for case in group:
            shared = [(match, other) for other in group if other is not case
                      for match in _NAME.finditer(case.question)
                      if match.start() > 0 and len(match.group(0)) >= 3 and match.group(0) in other.question]
            if not shared:
                continue
            match, other = max(shared, key=lambda found: len(found[0].group(0)))
            rest = case.question[match.end():]
            pronoun, rest = ("its", rest[2:]) if rest.startswith("'s") else ("it", rest)
            question = re.sub(r"\b(?:the|a|an) (its?)\b", r"\1", case.question[: match.start()] + pronoun + rest)
            made.append(FollowUp(other.question, question, case.answers))
    random.Random(seed).shuffle(made)
    return made[:limit]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.followups", description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", default="../shared/bench/squad-dev-v1.1.json.gz", help="SQuAD v1.1 dev JSON(.gz)")
    parser.add_argument("--work", default=".rag/answer-fit", help="folder for the corpora and indexes")
    parser.add_argument("--limit", type=int, default=300, help="follow-ups asked")
    args = parser.parse_args(argv)
    first, _ = read_halves(args.squad)
    index, cases = prepare(first, Path(args.work) / "first", 150, 2, replace(load_settings(), backend="torch"),
                           whole_articles=True)
    asked = follow_ups(cases, args.limit)
    answers = [index.ask(item.question, history=[item.previous]) for item in asked]
    right = [not answer.abstained and metrics.answer_correct(answer.text, item.answers)
             for answer, item in zip(answers, asked, strict=True)]
    print(f"{len(asked)} follow-ups: containment {metrics.mean(right) or 0.0:.3f}, "
          f"abstained {metrics.mean(answer.abstained for answer in answers) or 0.0:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
