"""Example questions that belong to the corpus being served: drawn from its section headings and titles.

An API signature ``json.loads(s, *, cls=None)`` gives "What does json.loads do?", a short heading
"Exceptions" gives "What does the page on json say about exceptions?", a document without sections
gives "What is <title> about?". Never the seed documents' questions over another corpus.
"""

from __future__ import annotations

import re

import rag

_SIGNATURE = re.compile(r"^(?:class |exception |async )?(?P<name>[A-Za-z_][\w.]*)\(")
_SEPARATOR = " › "


def example_questions(index: rag.Index, count: int = 4) -> list[str]:
    """Up to ``count`` questions, one per document: an API signature first, else a subsection, else the title."""
    by_title: dict[str, list[str]] = {}
    for title, section in index.store.headings():
        by_title.setdefault(title, []).append(section.split(_SEPARATOR)[-1] if section else "")
    questions = []
    for title, headings in by_title.items():
        question = next((q for q in map(_signature_question, headings) if q), None)
        question = question or next((q for q in (_heading_question(title, h) for h in headings) if q), None)
        questions.append(question or _title_question(title))
        if len(questions) == count:
            break
    return questions


def _signature_question(heading: str) -> str | None:
    signature = _SIGNATURE.match(heading)
    return f"What does {signature.group('name')} do?" if signature else None


def _heading_question(title: str, heading: str) -> str | None:
    if not heading or heading == title or len(heading.split()) > 6:
        return None
    topic = title.split(" — ")[0].split(" - ")[0]
    return f"What does {topic} say about {heading[0].lower() + heading[1:]}?"


def _title_question(title: str) -> str:
    return f"What is {' '.join(title.split()[:12])} about?"
