"""What an evaluation measured, and how it is shown: tables for a terminal, JSON, a hit@k plot."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .evalset import EvalSetError


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
    answer_rows: list[dict[str, Any]] = field(default_factory=list)  # every question's answer, for the curves
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
            scored = [row for row in self.answer_rows if row.get("confidence") is not None]
            if scored and any(not row["answerable"] for row in scored):
                written.append(plot_abstention_curve([row["confidence"] for row in scored],
                                                     [row["answerable"] for row in scored], folder / "abstention.png"))
        return written


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


def abstention_curve(confidences: Sequence[float], answerable: Sequence[bool]) -> list[tuple[float, float, float]]:
    """``(threshold, precision, recall)`` of abstaining below each threshold: precision is the share of
    abstentions that were unanswerable, recall the share of unanswerable questions abstained."""
    unanswerable = sum(not can for can in answerable)
    curve = []
    for threshold in sorted(set(confidences)) + [float("inf")]:
        declined = [not can for confidence, can in zip(confidences, answerable, strict=True) if confidence < threshold]
        if declined and unanswerable:
            curve.append((threshold, sum(declined) / len(declined), sum(declined) / unanswerable))
    return curve


def plot_abstention_curve(confidences: Sequence[float], answerable: Sequence[bool], path: Path) -> Path:
    """A PNG of abstention precision against recall as the confidence threshold moves."""
    figure, axes = _figure()
    curve = abstention_curve(confidences, answerable)
    axes.plot([recall for _, _, recall in curve], [precision for _, precision, _ in curve], marker=".")
    axes.set(xlabel="recall (unanswerable questions abstained)", ylabel="precision (abstentions that were right)",
             xlim=(0, 1.02), ylim=(0, 1.02), title="Abstention as the threshold moves")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    return path


def _figure() -> tuple[Any, Any]:
    """A matplotlib figure on the Agg canvas (imported here, never at import time)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise EvalSetError("matplotlib is not installed: run `pip install matplotlib`, or skip the plot.") from None
    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def plot_hit_curves(curves: Mapping[str, Sequence[float]], path: Path) -> Path:
    """A PNG of hit@k against k, one line per mode."""
    figure, axes = _figure()
    for mode, curve in curves.items():
        axes.plot(range(1, len(curve) + 1), curve, marker="o", label=mode)
    axes.set(xlabel="k", ylabel="hit@k", ylim=(0, 1.02), title="Relevant passage in the top k")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    return path
