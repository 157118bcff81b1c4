"""The evaluation harness: a JSONL question set (eval/seeds.jsonl) against an index, modes side by side.

Relevance is judged by span, never by chunk id: a passage is relevant when its ``[start, end)``
overlaps an evidence quote located in the same file's text, so the same eval set scores any
chunking. Unanswerable questions are left out of retrieval metrics and scored on abstention.

    from rag.evaluation import evaluate
    report = evaluate(rag.load_index(".rag/index"), "eval/seeds.jsonl")
    print(report.table())
    #              dense     bm25   hybrid
    # hit@1        0.403    0.746    0.746
    # nDCG@10      0.640    0.846    0.851   ...
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import metrics
from .errors import RagError

if TYPE_CHECKING:
    from .index import Index
    from .types import Passage

DEFAULT_EVAL_SET = "eval/seeds.jsonl"
_FIELDS = {"id", "question", "answers", "evidence", "answerable", "kind", "follows"}


class EvalSetError(RagError):
    """An eval set that cannot be read, or whose evidence is not in the index."""


@dataclass(frozen=True)
class Evidence:
    source: str  # file path as indexed (the document id)
    quote: str  # verbatim text of that file


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answerable: bool
    kind: str
    follows: str | None = None


def load_eval_set(path: str | Path) -> list[EvalQuestion]:
    """Read and check a JSONL eval set (format: eval/README.md)."""
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f"No eval set at {path}: pass the path of a JSONL file such as {DEFAULT_EVAL_SET}.")
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if set(record) != _FIELDS:
                raise ValueError(f"fields must be {sorted(_FIELDS)}")
            question = EvalQuestion(
                id=str(record["id"]), question=record["question"], answers=tuple(record["answers"]),
                evidence=tuple(Evidence(item["source"], item["quote"]) for item in record["evidence"]),
                answerable=bool(record["answerable"]), kind=record["kind"], follows=record["follows"])
        except (ValueError, KeyError, TypeError) as error:
            raise EvalSetError(f"{path}, line {number}, is not a valid eval question ({error}).") from None
        if question.id in seen or (question.follows is not None and question.follows not in seen):
            raise EvalSetError(f"{path}, line {number}: id {question.id} is repeated or follows a later question.")
        if question.answerable and not question.evidence:
            raise EvalSetError(f"{path}, line {number}: answerable question {question.id} has no evidence.")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise EvalSetError(f"The eval set {path} holds no questions.")
    return questions


Span = tuple[str, int, int]  # source, start, end in the source's text


def evidence_spans(index: Index, question: EvalQuestion) -> list[Span]:
    """Where each evidence quote stands in its file's text as indexed (``str.find``, first occurrence)."""
    spans = []
    for evidence in question.evidence:
        text = index.document_text(evidence.source)
        if text is None:
            raise EvalSetError(f"{question.id}: {evidence.source} is not in the index; index the folder the eval set "
                               "was written for, or pass --index.")
        start = text.find(evidence.quote)
        if start < 0:
            raise EvalSetError(f"{question.id}: its evidence quote is not in {evidence.source} as indexed; "
                               "the file changed since the eval set was written.")
        spans.append((evidence.source, start, start + len(evidence.quote)))
    return spans


def span_matches(passages: Sequence[Passage], spans: Sequence[Span]) -> list[frozenset[int]]:
    """For each passage, the positions in ``spans`` of the evidence it overlaps (same file, shared characters)."""
    return [frozenset(number for number, (source, start, end) in enumerate(spans)
                      if passage.source == source and passage.start < end and start < passage.end)
            for passage in passages]


@dataclass
class Miss:
    """A question whose first relevant passage was not at rank 1, and what came first instead."""

    id: str
    question: str
    query: str
    rank: int | None  # of the first relevant passage, None when none was in the top k
    expected: list[str]  # evidence sources
    retrieved: list[dict[str, Any]]  # rank, source, title, lines, text (first 80 characters)


@dataclass
class ModeReport:
    metrics: dict[str, float]
    hit_curve: list[float]  # hit@1 .. hit@k
    misses: list[Miss] = field(default_factory=list)


@dataclass
class EvalReport:
    """What ``evaluate`` measured; ``to_dict()`` for JSON, ``table()`` for a terminal."""

    k: int
    questions: int
    answerable: int
    modes: dict[str, ModeReport]
    answers: dict[str, Any] | None = None  # answer metrics when the index can ``ask``
    answer_details: list[dict[str, Any]] = field(default_factory=list)  # wrong answers and abstentions
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        lines = [f"{self.questions} questions, {self.answerable} answerable (retrieval metrics), top {self.k}",
                 format_table({mode: report.metrics for mode, report in self.modes.items()})]
        if self.answers is not None:
            lines.append("")
            lines.extend(f"{name:<26}{_cell(value)}" for name, value in self.answers.items())
        return "\n".join(lines)

    def diagnostics(self) -> str:
        """One block per retrieval miss: rank of the first relevant passage and what outranked it."""
        lines = []
        for mode, report in self.modes.items():
            for miss in report.misses:
                expected = ", ".join(miss.expected)
                lines.append(f"[{mode}] {miss.id} rank {miss.rank or '-'}: {miss.question}  (expected {expected})")
                lines.extend(f"    {hit['rank']}. {hit['source']} lines {hit['lines']}: {hit['text']}"
                             for hit in miss.retrieved)
        return "\n".join(lines)

    def write(self, out_dir: str | Path, plot: bool = True) -> list[Path]:
        """``report.json`` and, with ``plot``, ``hit_at_k.png`` in ``out_dir``; returns the paths written."""
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "report.json"]
        written[0].write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
        if plot:
            written.append(plot_hit_curves({mode: report.hit_curve for mode, report in self.modes.items()},
                                           folder / "hit_at_k.png"))
        return written


def evaluate(index: Index, eval_set: str | Path | Sequence[EvalQuestion] = DEFAULT_EVAL_SET,
             modes: Sequence[str] = ("dense", "bm25", "hybrid"), k: int = 10, answer_k: int = 5,
             answers: bool = True) -> EvalReport:
    """Retrieval metrics per mode and, when ``index`` has ``ask`` and ``answers`` is on, answer metrics.

    Answers are asked once per question in the index's default mode with ``answer_k`` passages.
    """
    started = time.perf_counter()
    questions = load_eval_set(eval_set) if isinstance(eval_set, str | Path) else list(eval_set)
    by_id = {question.id: question for question in questions}
    spans = {question.id: evidence_spans(index, question) for question in questions}
    histories = {question.id: _history(question, by_id) for question in questions}
    queries = {question.id: " ".join([*histories[question.id][-1:], question.question]) for question in questions}
    answerable = [question for question in questions if question.answerable]
    if not answerable:
        raise EvalSetError("The eval set has no answerable question, so retrieval cannot be scored.")
    answered = None
    if answers and hasattr(index, "ask"):
        with preembedded(index, [question.question for question in questions]):
            answered = _answers(index, questions, spans, histories, answer_k)
        for question in questions:  # follow-ups are retrieved with the query the answerer used
            queries[question.id] = answered[1][question.id]["search_query"] or queries[question.id]
    with preembedded(index, list(queries.values())):
        modes_report = {mode: _retrieval(index, mode, answerable, queries, spans, k) for mode in modes}
    return EvalReport(k=k, questions=len(questions), answerable=len(answerable), modes=modes_report,
                      answers=answered[0] if answered else None,
                      answer_details=[row for row in (answered[1].values() if answered else []) if not row["ok"]],
                      seconds=time.perf_counter() - started)


def _history(question: EvalQuestion, by_id: Mapping[str, EvalQuestion]) -> list[str]:
    """The earlier questions a follow-up depends on, oldest first (a chain q55 -> q56 -> q57 gives two)."""
    chain: list[str] = []
    current = question
    while current.follows is not None:
        current = by_id[current.follows]
        chain.insert(0, current.question)
    return chain


def _retrieval(index: Index, mode: str, questions: Sequence[EvalQuestion], queries: Mapping[str, str],
               spans: Mapping[str, list[Span]], k: int) -> ModeReport:
    rows, latencies, misses = [], [], []
    for question in questions:
        started = time.perf_counter()
        passages = index.search(queries[question.id], k=k, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        matches = span_matches(passages, spans[question.id])
        relevant = range(len(spans[question.id]))
        rows.append([metrics.hit_at_k(matches, cut) for cut in range(1, k + 1)]
                    + [metrics.recall_at_k(matches, relevant, k), metrics.mrr_at_k(matches, k),
                       metrics.ndcg_at_k(matches, relevant, k)])
        rank = metrics.first_relevant_rank(matches)
        if rank != 1:
            outranked = passages[: (rank - 1 if rank else 3)][:3]
            misses.append(Miss(question.id, question.question, queries[question.id], rank,
                               sorted({source for source, _, _ in spans[question.id]}), [_brief(p) for p in outranked]))
    average = [sum(column) / len(column) for column in zip(*rows, strict=True)]
    curve = average[:k]
    summary = {f"hit@{cut}": curve[cut - 1] for cut in (1, 3, 5, 10) if cut <= k}
    summary.update({f"recall@{k}": average[k], f"MRR@{k}": average[k + 1], f"nDCG@{k}": average[k + 2],
                    "p50 ms": metrics.percentile(latencies, 50), "p95 ms": metrics.percentile(latencies, 95)})
    return ModeReport(summary, curve, misses)


def _brief(passage: Passage) -> dict[str, Any]:
    text = " ".join((passage.clean_text or passage.text).split())
    return {"rank": passage.rank, "source": passage.source, "title": passage.title,
            "lines": f"{passage.line_start}-{passage.line_end}", "text": text[:80]}


def _answers(index: Index, questions: Sequence[EvalQuestion], spans: Mapping[str, list[Span]],
             histories: Mapping[str, list[str]], k: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Ask every question once (follow-ups with their history); summary metrics and one row per question."""
    rows: dict[str, dict[str, Any]] = {}
    latencies = []
    for question in questions:
        started = time.perf_counter()
        answer = index.ask(question.question, k=k, history=histories[question.id])
        latencies.append((time.perf_counter() - started) * 1000)
        correct = not answer.abstained and metrics.answer_correct(answer.text, question.answers)
        rows[question.id] = {
            "id": question.id, "question": question.question, "answerable": question.answerable,
            "follow_up": question.follows is not None, "abstained": answer.abstained, "correct": correct,
            "ok": correct if question.answerable else answer.abstained, "answer": answer.text[:200],
            "gold": list(question.answers), "search_query": getattr(answer, "search_query", ""),
            "cited_relevant": [bool(found) for found in span_matches(answer.passages, spans[question.id])],
        }
    answerable = [row for row in rows.values() if row["answerable"]]
    follow_ups = [row for row in rows.values() if row["follow_up"]]
    precision, recall = metrics.abstention_precision_recall([row["abstained"] for row in rows.values()],
                                                            [row["answerable"] for row in rows.values()])
    summary = {
        "answer mode": str(getattr(index.settings, "mode", "")),
        "answer accuracy": metrics.mean(row["correct"] for row in answerable),
        "citation precision": metrics.citation_precision(c for r in answerable for c in r["cited_relevant"]),
        "abstention precision": precision, "abstention recall": recall,
        "false abstentions": sum(row["abstained"] for row in answerable),
        "follow-up accuracy": metrics.mean(row["ok"] for row in follow_ups),
        "overall accuracy": metrics.mean(row["ok"] for row in rows.values()),
        "answer p50 ms": metrics.percentile(latencies, 50), "answer p95 ms": metrics.percentile(latencies, 95),
    }
    return summary, rows


@contextmanager
def preembedded(index: Index, questions: Sequence[str], progress: bool = False) -> Iterator[None]:
    """Embed ``questions`` in batches up front, so that timed searches measure search alone.

    Shadows ``index.embed_query`` on this instance only, and restores it on exit.
    """
    unique = list(dict.fromkeys(question.strip() for question in questions))
    table = dict(zip(unique, index.embedder.embed(unique, progress=progress), strict=True)) if unique else {}
    fallback = index.embed_query
    index.embed_query = lambda question: table[question] if question in table else fallback(question)  # type: ignore[method-assign]
    try:
        yield
    finally:
        del index.embed_query


def format_table(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """A terminal table with one column per mode and one row per metric (rows in first-seen order)."""
    rows = list(dict.fromkeys(name for values in columns.values() for name in values))
    width = max([len(name) for name in rows] + [6])
    widths = [max(len(label), 7) for label in columns]
    lines = [" " * width + "".join(f"  {label:>{w}}" for label, w in zip(columns, widths, strict=True))]
    for name in rows:
        cells = [_cell(values.get(name)) for values in columns.values()]
        lines.append(f"{name:<{width}}" + "".join(f"  {cell:>{w}}" for cell, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool | int | str):
        return str(value)
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def plot_hit_curves(curves: Mapping[str, Sequence[float]], path: Path) -> Path:
    """A PNG of hit@k against k, one line per mode (matplotlib is imported here, with the Agg canvas)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise EvalSetError("matplotlib is not installed: run `pip install matplotlib`, or skip the plot.") from None
    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for mode, curve in curves.items():
        axes.plot(range(1, len(curve) + 1), curve, marker="o", label=mode)
    axes.set(xlabel="k", ylabel="hit@k", ylim=(0, 1.02), title="Relevant passage in the top k")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    return path
