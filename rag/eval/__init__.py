"""Measuring retrieval and answers: eval sets (``evalset``), the harness (``harness``), public
benchmarks (``benchmarks``, ``runner``), pure metrics (``metrics``) and reports (``report``)."""

from .harness import evaluate
from .report import EvalReport

__all__ = ["EvalReport", "evaluate"]
