"""What a question asks for: its kind (who, when, where, how many, how long), the qualifiers
its evidence must share (years, ordinals, numbers, names), and whether it leans on the
previous turn. Pure text rules: cheap, explainable, and tuned on eval/seeds.jsonl.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..dates import FULL_MONTH as _MONTHS
from ..store.lexical import tokenize

_DATE = re.compile(
    rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:\s*(?:to|-|–)\s*\d{{1,2}})?(?:,?\s*\d{{4}})?|\b\d{{1,2}}(?:st|nd|rd|th)?\s*{_MONTHS}"
    rf"|\b\d{{4}}\.\d{{1,2}}\.\d{{1,2}}\b|\b(?:1[89]|20)\d\d\b|\b\d+(?:st|nd|rd|th)\b"
)
_NUMBER_WORDS = (
    r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|dozens?)"
)

# What an answer of each kind must contain: a sentence without it cannot answer that kind of question.
_EXPECTED = {
    "when": re.compile(rf"\b{_MONTHS}\b|\b(?:1[89]|20)\d\d\b|\b\d{{4}}\.\d{{1,2}}\.\d{{1,2}}\b|\b(?:yesterday|today)\b"),
    "where": re.compile(
        r"\b(?:held|took place|opened|convened|met|located)\s+(?:at|in)\b"
        r"|\bat the [\w\s]{0,40}?\b(?:hall|building|house|cent(?:re|er)|school|university|palace|stadium|square|office)\b"
        rf"|\bin (?!{_MONTHS}\b)(?:[A-Z][a-z]+)"
        r"|\b(?:School|University|Institute|College|Academy|Hall|Building)\b"
    ),
    "how long": re.compile(r"\b(?:\d+|one|two|three|four|five|several|many)\s+(?:hours?|minutes?|days?|weeks?|months?|years?)\b"
                           r"|\bfrom \w+ \d+ to \d+\b", re.IGNORECASE),
    "who": re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,3}\b"),
}
_KINDS = {
    "how many": r"\bhow (?:many|much)\b|\bwhat (?:number|percentage|amount)\b|\bnumber of\b",
    "how long": r"\bhow long\b|\bfor how many (?:hours|days)\b|\bwhat duration\b",
    "when": r"\bwhen\b|\b(?:what|which) (?:date|day|year|month|time)\b|\bon what date\b",
    "where": r"\bwhere\b|\b(?:what|which) (?:place|venue|city|location|building|hall)\b|\bin what (?:place|city)\b",
    "who": r"\bwho(?:m|se)?\b|\b(?:which|what) (?:person|people|official|officials|leader|secretary|senior)\b|\bby whom\b",
}
_KIND_PATTERNS = {kind: re.compile(pattern, re.IGNORECASE) for kind, pattern in _KINDS.items()}
_ORDINALS = r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|inaugural|last|next"
_QUALIFIER = re.compile(rf"\b(?:(?:1[89]|20)\d\d|\d+(?:st|nd|rd|th)|{_ORDINALS})\b", re.IGNORECASE)
_NAME = _EXPECTED["who"]  # a run of two to four capitalised words
_SAME_AS = {"inaugural": "first"}
_PRONOUN_START = re.compile(
    r"^(?:and|but|also|what about|how about|then|so)\b"
    r"|\b(?:it|its|they|them|their|there|he|him|she|his|her|that|this|these|those)\b",
    re.IGNORECASE,
)


def question_kind(question: str) -> str:
    """``who``, ``when``, ``where``, ``how many``, ``how long`` or ``what``: the kind named first wins."""
    found = [(match.start(), kind) for kind, pattern in _KIND_PATTERNS.items() if (match := pattern.search(question))]
    return min(found)[1] if found else "what"


def fits_kind(kind: str, sentence: str) -> bool:
    """Whether ``sentence`` holds the kind of fact asked for (any sentence fits ``what``)."""
    if kind == "how many":
        undated = _DATE.sub(" ", sentence)
        return bool(re.search(rf"\b\d[\d,]*\b|\b{_NUMBER_WORDS}\b", undated, re.IGNORECASE))
    pattern = _EXPECTED.get(kind)
    return pattern is None or bool(pattern.search(sentence))


def qualifiers(question: str) -> list[str]:
    """Years, ordinals and numbers in the question, which its evidence must share.

    Two or more different ones ("the first or the second?") are alternatives, not requirements.
    """
    found = list(dict.fromkeys(_SAME_AS.get(word.lower(), word.lower()) for word in _QUALIFIER.findall(question)))
    return found if len(found) == 1 or not re.search(r"\b(?:or|both|and)\b", question) else []


def names(question: str) -> list[str]:
    """Capitalised names in the question other than its first word (``Sin Chol Man``)."""
    body = question.split(None, 1)[1] if " " in question else ""
    return [name for name in _NAME.findall(body) if not re.match(_MONTHS, name)]


def has_person(sentence: str, known: set[str]) -> bool:
    """A run of 2-4 short capitalised words none of which the question or title already uses.

    ``Jo Yong Won`` and ``Ri Il Hwan`` count; ``Political Bureau`` and ``Party Committees`` do not.
    """
    for match in _NAME.finditer(sentence):
        words = match.group(0).split()
        if all(len(word) <= 8 and word.lower() not in known for word in words) and not re.match(_MONTHS, words[0]):
            return True
    return False


def is_follow_up(question: str) -> bool:
    """Short or pronoun-led questions lean on the previous turn."""
    return len(tokenize(question)) <= 3 or bool(_PRONOUN_START.search(question))


def search_query(question: str, history: Sequence[str]) -> str:
    """The query used for retrieval: a follow-up borrows the previous question as context."""
    if not history or not is_follow_up(question):
        return question
    return f"{question} ({history[-1]})"
