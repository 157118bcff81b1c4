"""Grounded answers: the sentence in the retrieved passages that answers the question, cited.

The offline answerer never writes a word that is not in a cited passage: it picks the
evidence sentence by meaning (embedding similarity), wording (shared terms) and the kind of
fact asked for (who, when, where, how many), and abstains when no sentence offers that kind of
fact or the question's key terms are nowhere in the passages. With an LLM configured, the
LLM writes the answer from the numbered passages and every marker is checked afterwards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .lexical import tokenize
from .markup import clean_markup
from .types import Answer, Citation, Passage

if TYPE_CHECKING:
    from .index import Index

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[*A-Z0-9])|\n\s*\n|\n(?=[A-Z#*\-])")
_PRONOUN_START = re.compile(
    r"^(and|but|also|what about|how about|then|so)\b|\b(it|its|they|them|their|there|he|she|his|her|that|this|these|those)\b",
    re.IGNORECASE,
)

# What an answer of each kind must contain; a sentence without it cannot answer that kind of question.
_MONTHS = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_EXPECTED = {
    "when": re.compile(rf"\b{_MONTHS}\b|\b(1[89]|20)\d\d\b|\b\d{{4}}\.\d{{1,2}}\.\d{{1,2}}\b|\b(yesterday|today)\b"),
    "where": re.compile(r"\b(at|in)\s+(the\s+)?[A-Z][a-z]+|\b(hall|building|city|county|province|school|university)\b"),
    "how many": re.compile(r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?)\b",
                           re.IGNORECASE),
    "who": re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,3}\b"),
}
_QUESTION_KINDS = [
    ("how many", re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|amount)\b|\bnumber of\b", re.IGNORECASE)),
    ("when", re.compile(r"\bwhen\b|\bwhat (date|day|year|month|time)\b|\bwhich (date|day|year|month)\b|\bon what date\b",
                        re.IGNORECASE)),
    ("where", re.compile(r"\bwhere\b|\b(what|which) (place|venue|city|location|building|hall)\b|\bin what (place|city)\b",
                         re.IGNORECASE)),
    ("who", re.compile(r"\bwho(m|se)?\b|\bwhich (person|people|official|officials|leader|secretary)\b|\bby whom\b",
                       re.IGNORECASE)),
]


@dataclass(frozen=True)
class AnswerPolicy:
    """Thresholds chosen on the unanswerable questions of eval/seeds.jsonl (see README, Evaluation)."""

    min_similarity: float = 0.35  # cosine of the best sentence to the question
    min_coverage: float = 0.5  # share of the question's terms found in the passages
    max_sentences: int = 2


def question_kind(question: str) -> str:
    """``who``, ``when``, ``where``, ``how many`` or ``what`` (anything else)."""
    for kind, pattern in _QUESTION_KINDS:
        if pattern.search(question):
            return kind
    return "what"


def is_follow_up(question: str) -> bool:
    """Short or pronoun-led questions lean on the previous turn."""
    return len(tokenize(question)) <= 3 or bool(_PRONOUN_START.search(question))


def search_query(question: str, history: Sequence[str]) -> str:
    """The query used for retrieval: a follow-up borrows the key terms of the previous question."""
    if not history or not is_follow_up(question):
        return question
    return f"{question} ({history[-1]})"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries in ``text`` as ``(start, end)``, whitespace trimmed."""
    spans, position = [], 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[position:end]
        stripped = piece.strip()
        if stripped:
            offset = position + piece.index(stripped)
            spans.append((offset, offset + len(stripped)))
        position = match.end() if match else len(text)
    return spans


@dataclass(frozen=True)
class _Candidate:
    passage_index: int
    start: int  # offsets in the source file
    end: int
    raw: str
    clean: str
    score: float
    similarity: float


def offline_answer(index: Index, question: str, passages: Sequence[Passage], query: str,
                   policy: AnswerPolicy = AnswerPolicy()) -> Answer:
    """Pick and cite the evidence sentence, or abstain."""
    if not passages:
        return _abstain(question, passages, query, "no passage matched")
    kind = question_kind(question)
    candidates = _score_sentences(index, question, query, passages)
    question_terms = set(tokenize(query))
    passage_terms = set(tokenize(" ".join(p.title + " " + p.clean_text for p in passages)))
    coverage = len(question_terms & passage_terms) / max(1, len(question_terms))
    expected = _EXPECTED.get(kind)
    fitting = [c for c in candidates if expected is None or expected.search(c.clean)]
    best = fitting[0] if fitting else None
    if best is None or best.similarity < policy.min_similarity or coverage < policy.min_coverage:
        reason = f"kind={kind} coverage={coverage:.2f} similarity={best.similarity if best else 0:.2f}"
        return _abstain(question, passages, query, reason)
    chosen = [best] + [c for c in fitting[1 : policy.max_sentences] if c.score >= 0.9 * best.score and c.raw != best.raw]
    return _cite(question, passages, chosen, query)


def _score_sentences(index: Index, question: str, query: str, passages: Sequence[Passage]) -> list[_Candidate]:
    raw_sentences: list[tuple[int, int, int, str, str]] = []
    for number, passage in enumerate(passages):
        for start, end in sentence_spans(passage.text):
            raw = passage.text[start:end]
            clean = " ".join(clean_markup(raw).text.split())
            if len(tokenize(clean)) >= 2:
                raw_sentences.append((number, passage.start + start, passage.start + end, raw, clean))
    if not raw_sentences:
        return []
    vectors = index.embedder.embed([sentence[4] for sentence in raw_sentences])
    similarity = vectors @ index.embed_query(question)
    context = vectors @ index.embed_query(query) if query != question else similarity
    terms = set(tokenize(question))
    scored = []
    for row, (number, start, end, raw, clean) in enumerate(raw_sentences):
        overlap = len(terms & set(tokenize(clean))) / max(1, len(terms))
        rank_prior = 0.05 * (1.0 - number / max(1, len(passages)))
        score = 0.6 * float(similarity[row]) + 0.2 * float(context[row]) + 0.3 * overlap + rank_prior
        scored.append(_Candidate(number, start, end, raw, clean, score, float(similarity[row])))
    return sorted(scored, key=lambda candidate: -candidate.score)


def _cite(question: str, passages: Sequence[Passage], chosen: Sequence[_Candidate], query: str) -> Answer:
    cited: list[Passage] = []
    sentences, citations = [], []
    for candidate in sorted(chosen, key=lambda c: (c.passage_index, c.start)):
        passage = passages[candidate.passage_index]
        if passage not in cited:
            cited.append(passage)
        marker = cited.index(passage) + 1
        sentences.append(f"{candidate.clean} [{marker}]")
        citations.append(Citation(marker, candidate.start, candidate.end, candidate.raw))
    return Answer(question=question, text=" ".join(sentences), passages=tuple(cited), abstained=False,
                  citations=tuple(citations), search_query=query)


def _abstain(question: str, passages: Sequence[Passage], query: str, reason: str) -> Answer:
    log.info("abstaining on %r: %s", question, reason)
    text = "The documents do not say. Nothing in them answers this question"
    text += "; the closest passages are listed as possibly related." if passages else "."
    return Answer(question=question, text=text, passages=(), abstained=True, related=tuple(passages[:3]),
                  search_query=query, meta={"reason": reason})


def answer_stream(index: Index, question: str, k: int = 5, mode: str | None = None,
                  history: Sequence[str] = ()) -> Iterator[Answer]:
    """Answers of growing text (tokens as an LLM streams them); the last one is final and checked."""
    question = index.check_question(question)
    query = search_query(question, history)
    passages = index.search(query, k=k, mode=mode)
    offline = offline_answer(index, question, passages, query)
    settings = index.settings
    if not (settings.llm_base_url and settings.llm_model) or not passages:
        yield offline
        return
    yield from _llm_answer(index, question, passages, query, offline, history)


def _llm_answer(index: Index, question: str, passages: Sequence[Passage], query: str, offline: Answer,
                history: Sequence[str]) -> Iterator[Answer]:
    from .errors import LLMError
    from .llm import LLMClient, build_messages, check_citations

    settings = index.settings
    client = LLMClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)
    pieces: list[str] = []
    try:
        for piece in client.stream(build_messages(question, passages, [(q, "") for q in history])):
            pieces.append(piece)
            yield Answer(question=question, text="".join(pieces), passages=tuple(passages), abstained=False,
                         search_query=query, meta={"partial": True})
    except LLMError as error:
        yield replace(offline, notice=f"The LLM failed ({error}); this is the offline answer.")
        return
    checked = check_citations("".join(pieces), len(passages))
    yield _renumber(question, checked.text, passages, checked.cited, checked.grounded, query)


def _renumber(question: str, text: str, passages: Sequence[Passage], cited: Sequence[int], grounded: bool,
              query: str) -> Answer:
    """Markers become 1..n in order of first use, so ``[n]`` is ``passages[n - 1]`` of the answer."""
    order = [int(number) for number in dict.fromkeys(re.findall(r"\[(\d+)\]", text)) if int(number) in cited]
    mapping = {old: new for new, old in enumerate(order, 1)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping[int(m.group(1))]}]" if int(m.group(1)) in mapping else "", text)
    abstained = "do not say" in text.lower() and not order
    notice = None if grounded or abstained else "This answer cites no passage: treat it as ungrounded."
    cited_passages = tuple(passages[old - 1] for old in order)
    return Answer(question=question, text=text, passages=cited_passages, abstained=abstained,
                  citations=tuple(_evidence(text, marker, passage) for marker, passage in enumerate(cited_passages, 1)),
                  related=tuple(passages[:3]) if abstained else (), grounded=grounded or abstained, notice=notice,
                  search_query=query)


def _evidence(text: str, marker: int, passage: Passage) -> Citation:
    """The sentence of ``passage`` that shares most terms with the answer's sentences citing ``[marker]``."""
    claims = set(tokenize(" ".join(s for s in re.split(r"(?<=[.!?])\s+", text) if f"[{marker}]" in s)))
    spans = sentence_spans(passage.text) or [(0, len(passage.text))]
    start, end = max(spans, key=lambda span: len(claims & set(tokenize(passage.text[span[0] : span[1]]))))
    return Citation(marker, passage.start + start, passage.start + end, passage.text[start:end])
