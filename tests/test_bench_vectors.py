"""The scale rows' synthetic vectors: unit length, drawn near their source, and the spread measure by hand."""

from __future__ import annotations

import sys

import numpy as np
from conftest import ROOT

sys.path.insert(0, str(ROOT))  # bench/ is not an installed package
from bench.vectors import source_cosine, spread, synthetic  # noqa: E402


def test_synthetic_rows_are_unit_vectors_near_their_source_and_keep_the_real_ones_first():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 32)).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    data, origin = synthetic(real, 2_000, sigma=0.03)
    assert data.shape == (2_000, 32) and np.allclose(np.linalg.norm(data, axis=1), 1, atol=1e-5)
    assert np.array_equal(data[:300], real) and np.array_equal(origin[:300], np.arange(300))
    assert 0.6 < source_cosine(data, origin, real) < 0.99
    nearest = np.argmax(data[300:] @ real.T, axis=1)
    assert np.mean(nearest == origin[300:]) > 0.8  # a row is nearer its source than any other real vector


def test_spread_counts_distinct_sources_in_each_top_k():
    origin = np.array([0, 0, 1, 2, 2, 2])
    truth = np.array([[0, 1, 2, 3], [3, 4, 5, 2]])  # sources 0 0 1 2 (three, 0 holds half), 2 2 2 1 (two, 3/4)
    assert spread(truth, origin) == {"sources_in_top10_mean": 2.5, "sources_in_top10_min": 2.0,
                                     "largest_source_share_mean": 0.625}
