"""The fitted answerer: which sentence answers (a softmax over a question's candidates) and whether any
does (a logistic regression giving the probability that the passages hold the answer).

Both are linear over standardised features and stored as JSON beside this module (``weights.json``),
refitted on public data by ``python -m rag.eval.answer_fit`` (SQuAD v1.1 dev, first half of its
articles by title); nothing is tuned on the documents people ask about.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RagError
from .features import FEATURES, Candidates
from .kinds import TYPED

if TYPE_CHECKING:
    import numpy as np

WEIGHTS = Path(__file__).with_name("weights.json")
QUESTION_FEATURES = ("best_logit", "margin", "p_max", "entropy", "best_bm25", "best_rare_hit", "best_cos",
                     "max_cos", "top_score", "score_gap12", "q_idf_found", "q_rare_found", "q_missing_max_idf", "agree",
                     "any_match", "best_match", "n_q_terms", "best_rank", "typed_miss")


@dataclass(frozen=True)
class Linear:
    """``coef · (x - mean) / scale + intercept`` over named features."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float = 0.0

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        import numpy as np

        return ((matrix - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Linear:
        return cls(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]),
                   float(data.get("intercept", 0.0)))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept}


@dataclass(frozen=True)
class AnswerModel:
    selection: Linear
    abstention: Linear
    threshold: float  # abstain below this probability that the passages hold the answer
    second_below: float  # quote a second sentence when the best one's probability is below this,
    pair_below: float = 0.0  # or below this when the two together are at most ``pair_words`` words
    pair_words: int = 0

    def probabilities(self, candidates: Candidates) -> np.ndarray:
        """Softmax over the candidates: the probability that each one is the answering sentence."""
        import numpy as np

        logits = self.selection(candidates.matrix.astype(np.float64))
        exponentials = np.exp(logits - logits.max())
        return exponentials / exponentials.sum()

    def quoted(self, candidates: Candidates, probabilities: np.ndarray) -> list[int]:
        """The sentences to quote, best first (``quoted`` with this model's limits)."""
        return quoted(candidates, probabilities, self.second_below, self.pair_below, self.pair_words)

    def holds_answer(self, candidates: Candidates, probabilities: np.ndarray) -> float:
        """Calibrated probability that some candidate answers the question."""
        import numpy as np

        if not len(probabilities):
            return 0.0
        values = question_features(candidates, self.selection(candidates.matrix.astype(np.float64)), probabilities)
        row = np.array([[values[name] for name in self.abstention.features]])
        return float(1.0 / (1.0 + np.exp(-self.abstention(row)[0])))


def quoted(candidates: Candidates, probabilities: np.ndarray, second_below: float, pair_below: float = 0.0,
           pair_words: int = 0) -> list[int]:
    """The best sentence, and the runner-up when the best is uncertain (below ``second_below``), or somewhat
    uncertain (below ``pair_below``) while the two are short enough to read at a glance: API pages are terse,
    and the answer is often the sentence after the one that repeats the question's words."""
    order = [int(number) for number in probabilities.argsort()[::-1][:2]]
    if len(order) < 2:
        return order
    top = probabilities[order[0]]
    words = sum(len(candidates.items[number].text.split()) for number in order)
    return order if top < second_below or (top < pair_below and words <= pair_words) else order[:1]


def question_features(candidates: Candidates, logits: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Question-level features for abstention: how clear the best sentence is, and how much of the question
    the passages cover."""
    import numpy as np

    names = list(FEATURES)
    order = np.argsort(-logits)
    best = int(order[0])
    row = candidates.matrix[best]
    kind_column = f"match_{candidates.kind}"
    values = {
        "best_logit": logits[best], "margin": logits[best] - (logits[order[1]] if len(order) > 1 else logits[best] - 5),
        "p_max": probabilities[best], "entropy": float(-(probabilities * np.log(probabilities + 1e-12)).sum()),
        "best_bm25": row[names.index("bm25_sent")],
        "best_rare_hit": row[names.index("rare_hit_win")], "best_cos": row[names.index("cos_sent")],
        "best_match": row[names.index(kind_column)] if kind_column in names else 0.0,
        "best_rank": row[names.index("p_rank")], **candidates.summary,
        # a who/where/when/how-many question whose best sentence names no person, place, date or number
        "typed_miss": float(candidates.kind in TYPED and not row[names.index(kind_column)]),
    }
    return {name: float(values[name]) for name in QUESTION_FEATURES}


def load_model(path: Path | None = None) -> AnswerModel:
    """The fitted answerer shipped with the package, or the weights at ``path`` or ``$RAG_ANSWER_WEIGHTS``
    (a refit being tried out)."""
    return _load(path or Path(os.environ.get("RAG_ANSWER_WEIGHTS") or WEIGHTS))


@lru_cache(maxsize=2)
def _load(path: Path) -> AnswerModel:
    data = json.loads(path.read_text(encoding="utf-8"))
    model = AnswerModel(Linear.from_json(data["selection"]), Linear.from_json(data["abstention"]),
                        float(data["threshold"]), float(data["second_below"]), float(data.get("pair_below", 0.0)),
                        int(data.get("pair_words", 0)))
    if model.selection.features != FEATURES or not set(model.abstention.features) <= set(QUESTION_FEATURES):
        raise RagError(f"The answerer weights in {path} were fitted for other features; "
                       "run `python -m rag.eval.answer_fit` to fit them again.")
    return model
