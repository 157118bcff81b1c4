"""Follow-up questions: read in the context of the previous turn only when they cannot stand alone.

"And who gave lectures there?" has nothing for "there" to point at, so it borrows the previous
question; "What is the capital of France?" stands alone and never does. Even then the contextual
reading is only a candidate: ``rag.answer.stream`` keeps it when it answers with more confidence
than the question alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import entities

_ELLIPSIS = re.compile(r"^\s*(?:and|but|also|so|then|what about|how about|and what about)\b", re.IGNORECASE)
_POINTER = re.compile(r"\b(?:he|him|his|she|her|hers|it|its|they|them|their|theirs|there|that one|this one)\b",
                      re.IGNORECASE)
# "it" that points at nothing: "is it safe to ...", "it is possible to ..."
_DUMMY_IT = re.compile(r"\b(?:is|was|isn't|wasn't) it\b|\bit (?:is|was|'s) (?:\w+ )?(?:to|that)\b", re.IGNORECASE)
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'-]+")
_PERSONAL = frozenset({"he", "him", "his", "she", "her", "hers"})


def needs_context(question: str) -> bool:
    """A question opening with an ellipsis ("And ...", "What about ..."), or using a pronoun with no
    name before it in the question itself to point at."""
    if _ELLIPSIS.search(question):
        return True
    for match in _POINTER.finditer(question):
        if match.group(0).lower() == "it" and _DUMMY_IT.search(question):
            continue
        if not _named_before(question, match.start(), match.group(0).lower() in _PERSONAL):
            return True
    return False


def _named_before(question: str, end: int, person: bool) -> bool:
    """Whether the question names something before ``end`` for a pronoun to point at: a person (by spaCy's
    entities) for he/she/his/her, any capitalised name otherwise. "What Party posts does he hold?" names none."""
    if not person:
        return _NAME.search(question[:end]) is not None
    return any(label == "PERSON" and 0 <= question.find(text) < end for text, label in entities.entities([question])[0])


def contextual_query(question: str, history: Sequence[str]) -> str | None:
    """The question with the previous one as context, or None when it stands alone (or nothing came before)."""
    if not history or not needs_context(question):
        return None
    return f"{question} ({history[-1]})"
