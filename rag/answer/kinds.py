"""What a question asks for, and which phrases of a sentence could be that kind of answer.

Rules, used as features of a fitted model (``rag.answer.features``), never as filters: measured on
SQuAD, filtering sentences by kind removed 70% of the right sentences for where-questions.

    question_kind("In what year did the war end?")        # "year"
    typed_phrases("It ended in 1945 in Berlin.")           # [Phrase("1945", ("year", "date", ...)),
                                                           #  Phrase("Berlin", ("place", "entity"))]

Values (years, dates, numbers, amounts, measures, exception names) are found by patterns; people,
organisations and places by spaCy's named entities (``rag.answer.entities``): a capitalised word is
only an ``entity`` unless the model says what it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..dates import FULL_MONTH
from ..store.lexical import tokenize
from .entities import Entity, entities

KINDS = ("year", "when", "count", "amount", "measure", "error", "who", "where", "why", "how", "which", "what", "other")
_KIND_RULES = [  # specific before generic: the first that matches names the kind
    ("error", r"\b(?:what|which)\s+(?:\w+\s+)?(?:exceptions?|errors?|warnings?)\b"),  # API docs: "which exception ..."
    ("year", r"\b(?:what|which|in what|in which) year\b|\bwhat century\b|\bwhat decade\b"),
    ("when", r"\bwhen\b|\b(?:what|which) (?:date|day|month|time period|era|period|season)\b"),
    ("count", r"\bhow many\b|\bwhat (?:number|percentage|percent|proportion|fraction)\b"),
    ("amount", r"\bhow much\b|\bwhat (?:amount|price|cost)\b"),
    ("measure", r"\bhow (?:long|old|far|big|large|tall|high|wide|deep|often|fast|heavy)\b"),
    ("who", r"\bwho(?:m|se)?\b|\b(?:what|which) (?:person|people|man|woman|company|organization|group|team|"
            r"president|king|emperor|author|scientist|artist|player|band|singer|actor|individual)\b"),
    ("where", r"\bwhere\b|\b(?:what|which) (?:city|country|place|state|location|region|continent|area|town|"
              r"island|river|nation|county|province|venue|stadium|building)\b"),
    ("why", r"\bwhy\b"),
    ("how", r"\bhow\b"),
    ("which", r"\bwhich\b"),
    ("what", r"\bwhat\b"),
]
_KIND_PATTERNS = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _KIND_RULES]

# The group of phrases that answers each kind of question.
WANTED = {"year": "year", "when": "date", "count": "number", "amount": "amount", "measure": "measure",
          "error": "error", "who": "person", "where": "place", "which": "entity", "what": "entity"}
# Kinds whose answer is a typed phrase (not just any entity): a best sentence without one hardly answers.
TYPED = frozenset(kind for kind, group in WANTED.items() if group != "entity")
# For a short answer, the groups to prefer, best first. Only for values: on the first half of SQuAD the
# phrase picked this way is the gold answer for 0.78 of year questions and about half of when and how-many
# ones, but for under a third of who and where ones, where a wrong name would lead the reply.
SHORT_ORDER = {"year": ("year", "date"), "when": ("date",), "count": ("number",), "amount": ("amount", "number"),
               "measure": ("measure", "number")}

_NUMBER_WORDS = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fifteen|twenty|thirty|"
                 r"forty|fifty|sixty|hundred|thousand|million|billion|dozen|half)")
_UNITS = (r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|centur(?:y|ies)|decades?|miles?|km|kilomet(?:er|re)s?|"
          r"met(?:er|re)s?|feet|foot|ft|inch(?:es)?|acres?|square|kg|kilograms?|pounds?|tons?|tonnes?|degrees?|°|mph|%"
          r"|percent)")
_YEAR = r"\b(?:1\d{3}|20\d{2})s?\b"
_PATTERNS = {
    "year": re.compile(rf"{_YEAR}|\b\d{{1,2}}(?:st|nd|rd|th) century\b", re.IGNORECASE),
    "date": re.compile(rf"\b{FULL_MONTH}\b(?:\s+\d{{1,2}}(?!\d)(?:\s*(?:to|-|–)\s*\d{{1,2}}(?!\d))?)?(?:,?\s+\d{{4}})?"
                       rf"|\b\d{{1,2}}\s+{FULL_MONTH}\b|{_YEAR}"
                       r"|\b\d{1,2}(?:st|nd|rd|th) century\b|\b(?:spring|summer|autumn|fall|winter) of\b"
                       r"|\b\d+ (?:BC|AD|BCE|CE)\b"),
    "number": re.compile(rf"(?<![\w.,])(?!(?:1\d{{3}}|20\d\d)s?\b)\d+(?:,\d{{3}})*(?:\.\d+)?(?![\d,]\d)"
                         rf"(?:\s*(?:million|billion|thousand|hundred))?|\b{_NUMBER_WORDS}\b", re.IGNORECASE),
    "amount": re.compile(r"[$£€¥]\s?\d[\d,.]*(?:\s*(?:million|billion|thousand))?|\b\d[\d,.]*\s*(?:%|percent|per cent)"
                         r"|\b\d[\d,.]*\s*(?:million|billion|thousand)?\s*(?:dollars|pounds|euros|yen|francs)\b",
                         re.IGNORECASE),
    "measure": re.compile(rf"\b(?:\d[\d,.]*|{_NUMBER_WORDS}|several|many)[\s-]+(?:\w+\s+)?{_UNITS}(?!\w)", re.IGNORECASE),
    # an exception class as code names it: ValueError, json.JSONDecodeError, KeyboardInterrupt, StopIteration
    "error": re.compile(r"\b(?:\w+\.)*[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|Iteration)\b"),
}
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|von|van|and|for|del|da|la|du)?\s*[A-Z][\w'’.-]*)*")
_LEADING_WORDS = frozenset((  # function words a capitalised run may start with
    "the", "a", "an", "in", "on", "at", "it", "he", "she", "they", "this", "that", "these", "those", "his", "her",
    "its", "their", "there", "however", "after", "before", "during", "when", "while", "although", "as", "by", "for",
    "from", "with", "but", "and", "or", "if", "since", "despite", "also", "many", "some", "most", "one", "two",
    "both", "each", "other", "following", "today", "then", "thus", "because", "we", "i",
))


@dataclass(frozen=True)
class Phrase:
    """A phrase of a sentence and the answer groups it can stand for."""

    text: str
    groups: tuple[str, ...]


def question_kind(question: str) -> str:
    """``year``, ``when``, ``count``, ``amount``, ``measure``, ``who``, ``where``, ``why``, ``how``, ``which``, ``what``
    or ``other``."""
    return next((kind for kind, pattern in _KIND_PATTERNS if pattern.search(question)), "other")


# What each entity label can answer. "person" is whoever acts (who-questions: "the Normans", "Denver
# Broncos"); an organisation can also be where something happens ("at the Central Committee").
_LABEL_GROUPS = {
    "PERSON": ("person", "entity"), "NORP": ("person", "entity"), "ORG": ("person", "place", "entity"),
    "GPE": ("place", "entity"), "LOC": ("place", "entity"), "FAC": ("place", "entity"), "TIME": ("date", "entity"),
    "CARDINAL": ("number", "entity"), "QUANTITY": ("measure", "number", "entity"),
    "MONEY": ("amount", "number", "entity"), "PERCENT": ("amount", "number", "entity"),
    "EVENT": ("entity",), "WORK_OF_ART": ("entity",), "LAW": ("entity",), "PRODUCT": ("entity",),
    "LANGUAGE": ("entity",),
}


def _groups(kind: str, text: str) -> tuple[str, ...]:
    if kind in _LABEL_GROUPS:
        return _LABEL_GROUPS[kind]
    if kind == "name":
        return ("entity",)
    if kind == "year":
        return ("year", "date", "entity")
    if kind == "date":
        return ("date", "entity") + (("year",) if re.search(r"\b\d{4}\b|century", text) else ())
    if kind == "amount":
        return ("amount", "number", "entity")
    if kind == "error":
        return ("error", "entity")
    if kind == "measure":
        dated = re.search(r"year|month|day|week|century|decade", text)
        return ("measure", "number", "entity") + (("date",) if dated else ())
    return ("number", "entity")


def typed_phrases(sentence: str, named: tuple[Entity, ...] | None = None) -> list[Phrase]:
    """Years, dates, numbers, amounts, measures, named entities and capitalised names in ``sentence``, with
    their groups; ``named`` is the sentence's entities when they were found for many sentences at once."""
    found: dict[str, tuple[str, ...]] = {}

    def add(kind: str, text: str) -> None:
        text = text.strip(" ,;:.")
        if text:
            found[text] = tuple(dict.fromkeys(found.get(text, ()) + _groups(kind, text)))

    for kind, pattern in _PATTERNS.items():
        for match in pattern.finditer(sentence):
            add(kind, match.group(0))
    for text, label in entities([sentence])[0] if named is None else named:
        if label == "DATE":
            add("date", text)
        elif label in _LABEL_GROUPS:
            add(label, _name(text.split()))
    for match in _NAME.finditer(sentence):
        name = _name(match.group(0).strip(" .").split())
        first = name.split(" ", 1)[0]
        if name and not re.fullmatch(r"[\d,.]+", first) and not re.fullmatch(FULL_MONTH, first):
            add("name", name)
    return [Phrase(text, groups) for text, groups in found.items()]


def _name(words: list[str]) -> str:
    """The words less the function words a name does not start with ("the", "in", "however")."""
    while words and words[0].lower() in _LEADING_WORDS:
        words = words[1:]
    return " ".join(words)


def is_new(phrase: str, question_lower: str, question_terms: set[str]) -> bool:
    """A phrase the question does not already name: an answer adds something."""
    if phrase.lower() in question_lower:
        return False
    terms = set(tokenize(phrase))
    return not terms or not terms <= question_terms


_COUNTED = re.compile(r"\bhow many\s+(\w+)(?:\s+(\w+))?", re.IGNORECASE)
_AUXILIARY = frozenset({"am", "is", "are", "was", "were", "be", "been", "do", "does", "did", "have", "has", "had", "can",
                        "could", "will", "would", "shall", "should", "may", "might", "must", "of", "in", "on", "at", "to",
                        "for"})


def counted(question: str) -> set[str]:
    """The terms of what a how-many question counts: "How many patches were applied?" counts patches, "how many
    open bugs" open bugs (two words at most, auxiliaries left out)."""
    match = _COUNTED.search(question)
    words: list[str] = []
    for word in match.groups() if match else ():
        if not word or word.lower() in _AUXILIARY:
            break
        words.append(word)
    return set(tokenize(" ".join(words)))


def short_answer(kind: str, sentence: str, phrases: list[Phrase], question_terms: set[str],
                 counted_terms: set[str] | None = None) -> str | None:
    """The phrase of the asked-for group nearest to the question's words in ``sentence``, or None; for a count,
    the number nearest to the counted thing first ("259 patches" for "How many patches ..."), when the sentence
    names it."""
    order = SHORT_ORDER.get(kind)
    if order is None:
        return None
    focus = _anchors(sentence, counted_terms) if kind == "count" and counted_terms else []
    anchors = _anchors(sentence, question_terms)
    best, best_key = None, None
    for phrase in phrases:
        ranks = [number for number, group in enumerate(order) if group in phrase.groups]
        if not ranks:
            continue
        preference = min(ranks) + (0.0 if phrase.groups[0] == order[0] else 0.5)  # a year before a date holding one
        position = _position(sentence, phrase.text) or 0
        distance = min((abs(position - anchor) for anchor in anchors), default=50)
        to_counted = min((abs(position - anchor) for anchor in focus), default=0)
        key = (preference, to_counted, distance, -len(phrase.text))
        if best_key is None or key < best_key:
            best, best_key = phrase.text, key
    return best


def nearness(sentence: str, phrases: list[Phrase], wanted: str, question_terms: set[str]) -> float:
    """``1 / (1 + words)`` between the closest phrase of the wanted group and a question term."""
    anchors = _anchors(sentence, question_terms)
    if not anchors:
        return 0.0
    best = None
    for phrase in phrases:
        position = _position(sentence, phrase.text) if wanted in phrase.groups else None
        if position is not None:
            distance = min(abs(position - anchor) for anchor in anchors)
            best = distance if best is None else min(best, distance)
    return 0.0 if best is None else 1.0 / (1.0 + best)


def _anchors(sentence: str, question_terms: set[str]) -> list[int]:
    """Word numbers of the sentence's words that are question terms."""
    return [number for number, word in enumerate(sentence.split()) if set(tokenize(word)) & question_terms]


def _position(sentence: str, phrase: str) -> int | None:
    """Word number where ``phrase`` first starts in ``sentence`` (any case), or None."""
    at = sentence.lower().find(phrase.lower())
    return len(sentence[:at].split()) if at >= 0 else None
