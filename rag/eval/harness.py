"""The evaluation harness: an eval set against an index, retrieval modes side by side, then answers.

Unanswerable questions are left out of retrieval metrics and scored on abstention.

    from rag.eval import evaluate
    report = evaluate(rag.load_index(".rag/index"), "eval/seeds.jsonl")
    print(report.table())
    #              dense     bm25   hybrid
    # hit@1        0.403    0.746    0.746
    # nDCG@10      0.640    0.846    0.851   ...
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import metrics
from .evalset import DEFAULT_EVAL_SET, EvalQuestion, EvalSetError, Span, evidence_spans, load_eval_set, span_matches
from .report import EvalReport, Miss, ModeReport

if TYPE_CHECKING:
    from ..index import Index
    from ..types import Passage

def evaluate(index: Index, eval_set: str | Path | Sequence[EvalQuestion] = DEFAULT_EVAL_SET,
             modes: Sequence[str] = ("dense", "bm25", "hybrid"), k: int = 10, answer_k: int = 5,
             answers: bool = True) -> EvalReport:
    """Retrieval metrics per mode and, with ``answers`` on, answer metrics.

    Answers are asked once per question in the index's default mode with ``answer_k`` passages.
    """
    started = time.perf_counter()
    questions = load_eval_set(eval_set) if isinstance(eval_set, str | Path) else list(eval_set)
    by_id = {question.id: question for question in questions}
    spans = {question.id: evidence_spans(index.document_text, question) for question in questions}
    histories = {question.id: _history(question, by_id) for question in questions}
    queries = {question.id: " ".join([*histories[question.id][-1:], question.question]) for question in questions}
    answerable = [question for question in questions if question.answerable]
    if not answerable:
        raise EvalSetError("The eval set has no answerable question, so retrieval cannot be scored.")
    answered = None
    if answers:
        with index.embedder.pinned([question.question.strip() for question in questions]):
            answered = _answers(index, questions, spans, histories, answer_k)
        for question in questions:  # follow-ups are retrieved with the query the answerer used
            queries[question.id] = answered[1][question.id]["search_query"] or queries[question.id]
    with index.embedder.pinned([query.strip() for query in queries.values()]):
        modes_report = {mode: _retrieval(index, mode, answerable, queries, spans, k) for mode in modes}
    return EvalReport(k=k, questions=len(questions), answerable=len(answerable), modes=modes_report,
                      answers=answered[0] if answered else None,
                      answer_details=[row for row in (answered[1].values() if answered else []) if not row["ok"]],
                      answer_rows=list(answered[1].values()) if answered else [],
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
            "confidence": answer.confidence,
            "gold": list(question.answers), "search_query": answer.search_query,
            "cited_relevant": [bool(found) for found in span_matches(answer.passages, spans[question.id])],
        }
    answerable = [row for row in rows.values() if row["answerable"]]
    follow_ups = [row for row in rows.values() if row["follow_up"]]
    precision, recall = metrics.abstention_precision_recall([row["abstained"] for row in rows.values()],
                                                            [row["answerable"] for row in rows.values()])
    summary = {
        "answer mode": index.settings.mode,
        "answer accuracy": metrics.mean(row["correct"] for row in answerable),
        "citation precision": metrics.citation_precision(c for r in answerable for c in r["cited_relevant"]),
        "abstention precision": precision, "abstention recall": recall,
        "false abstentions": sum(row["abstained"] for row in answerable),
        "follow-up accuracy": metrics.mean(row["ok"] for row in follow_ups),
        "overall accuracy": metrics.mean(row["ok"] for row in rows.values()),
        "answer p50 ms": metrics.percentile(latencies, 50), "answer p95 ms": metrics.percentile(latencies, 95),
    }
    return summary, rows
