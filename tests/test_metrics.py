"""Metrics on cases computed by hand, and against numpy where a trusted reference exists."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from rag.eval import metrics

NONE: frozenset[str] = frozenset()


def test_judge_marks_relevant_ids() -> None:
    assert metrics.judge(["d3", "d1", "d2"], {"d1"}) == [NONE, frozenset({"d1"}), NONE]


def test_hit_at_k() -> None:
    matches = [NONE, {"a"}, NONE]
    assert metrics.hit_at_k(matches, 1) == 0.0
    assert metrics.hit_at_k(matches, 2) == 1.0
    assert metrics.hit_at_k([], 5) == 0.0


def test_first_relevant_rank_and_mrr() -> None:
    matches = [NONE, NONE, {"a"}, {"b"}]
    assert metrics.first_relevant_rank(matches) == 3
    assert metrics.first_relevant_rank([NONE, NONE]) is None
    assert metrics.mrr_at_k(matches, 10) == pytest.approx(1 / 3)
    assert metrics.mrr_at_k(matches, 2) == 0.0  # the first hit lies beyond the cut-off


def test_recall_at_k_counts_distinct_relevant_ids() -> None:
    matches = [{"a"}, {"a"}, {"b"}]
    relevant = {"a", "b", "c"}
    assert metrics.recall_at_k(matches, relevant, 2) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(matches, relevant, 3) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        metrics.recall_at_k(matches, set(), 3)


def test_ndcg_by_hand() -> None:
    # ranking d3, d1, d2 with d1 and d2 relevant: DCG = 1/log2(3) + 1/log2(4); ideal = 1 + 1/log2(3)
    matches = metrics.judge(["d3", "d1", "d2"], {"d1", "d2"})
    dcg = 1 / math.log2(3) + 1 / 2
    ideal = 1 + 1 / math.log2(3)
    assert metrics.ndcg_at_k(matches, {"d1", "d2"}, 10) == pytest.approx(dcg / ideal)
    assert metrics.ndcg_at_k(matches, {"d1", "d2"}, 10) == pytest.approx(0.693426, abs=1e-6)
    # at k=2 only d1 counts, against the same ideal (min(k, 2 relevant) = 2 positions)
    assert metrics.ndcg_at_k(matches, {"d1", "d2"}, 2) == pytest.approx(0.386853, abs=1e-6)


def test_ndcg_ideal_is_cut_at_k() -> None:
    # three relevant ids but k=2: two hits in two slots are a perfect ranking
    assert metrics.ndcg_at_k([{"a"}, {"b"}], {"a", "b", "c"}, 2) == pytest.approx(1.0)
    assert metrics.ndcg_at_k([{"a"}, {"b"}], {"a", "b", "c"}, 10) == pytest.approx(
        (1 + 1 / math.log2(3)) / (1 + 1 / math.log2(3) + 1 / 2))


def test_ndcg_counts_a_relevant_id_once() -> None:
    # two overlapping chunks of the same quote: the second earns nothing, so nDCG stays <= 1
    assert metrics.ndcg_at_k([{"q0"}, {"q0"}], {"q0", "q1"}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert metrics.ndcg_at_k([{"q0"}, {"q0"}], {"q0"}, 10) == pytest.approx(1.0)


def test_percentile_by_hand_and_against_numpy() -> None:
    assert metrics.percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert metrics.percentile([7.0], 95) == 7.0
    generator = random.Random(3)
    values = [generator.uniform(0, 100) for _ in range(37)]
    for q in (0, 5, 50, 95, 100):
        assert metrics.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    with pytest.raises(ValueError):
        metrics.percentile([], 50)


def test_mean_ignores_missing_values() -> None:
    assert metrics.mean([1.0, None, 0.0]) == 0.5
    assert metrics.mean([None]) is None


def test_answer_correct_is_a_case_insensitive_substring() -> None:
    text = "The course opened on JANUARY 25 in Pyongyang [1]."
    assert metrics.answer_correct(text, ["January 25 to 28", "january 25"])
    assert not metrics.answer_correct(text, ["Jo Yong Won"])
    assert not metrics.answer_correct(text, ["", "  "])  # an empty gold string matches nothing


def test_citation_precision() -> None:
    assert metrics.citation_precision([True, False, False]) == pytest.approx(1 / 3)
    assert metrics.citation_precision([True, True]) == 1.0
    assert metrics.citation_precision([]) is None


def test_abstention_precision_and_recall() -> None:
    abstained = [True, True, False, False, True]
    answerable = [False, True, False, True, True]
    # one right abstention (question 0) out of three abstentions; two unanswerable questions (0 and 2)
    assert metrics.abstention_precision_recall(abstained, answerable) == pytest.approx((1 / 3, 1 / 2))
    assert metrics.abstention_precision_recall([False, False], [True, False]) == (None, 0.0)
    assert metrics.abstention_precision_recall([True], [True]) == (0.0, None)
    with pytest.raises(ValueError):
        metrics.abstention_precision_recall([True], [True, False])


def test_abstention_curve_by_hand():
    from rag.eval.report import abstention_curve

    curve = abstention_curve([0.1, 0.2, 0.8, 0.9], [False, True, False, True])
    assert curve == [(0.2, 1.0, 0.5), (0.8, 0.5, 0.5), (0.9, 2 / 3, 1.0), (float("inf"), 0.5, 1.0)]


def test_a_weighted_fitting_sample_counts_as_that_many_copies():
    import numpy as np

    from rag.eval.answer_fit import _weighted_quantile, fit_logistic

    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(40, 3))
    target = (matrix[:, 0] + rng.normal(size=40) > 0).astype(float)
    weight = np.where(np.arange(40) < 10, 3.0, 1.0)
    copies = np.repeat(np.arange(40), weight.astype(int))
    weighted = fit_logistic(matrix, target, ("a", "b", "c"), l2=0.0, weight=weight)
    repeated = fit_logistic(matrix[copies], target[copies], ("a", "b", "c"), l2=0.0)
    assert np.allclose(weighted(matrix), repeated(matrix), atol=1e-3)
    assert _weighted_quantile(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1.0, 1.0, 1.0, 7.0]), 0.25) == 0.3
