"""The HMM core: one GMM scorer, one Viterbi, MAP adaptation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from vowelseg.hmm.adapt import Stats, accumulate, label_columns, map_update
from vowelseg.hmm.gmm import (
    column_log_likelihoods,
    component_log_likelihoods,
    state_log_likelihoods,
)
from vowelseg.hmm.model import DEFAULT_MODEL, leave_logprob, load_model


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def test_dense_and_per_column_scores_agree(model):
    rng = np.random.default_rng(1)
    feats = rng.standard_normal((300, model.features.dim)).astype(np.float32)
    dense = state_log_likelihoods(model.mixtures, feats)
    exact64 = state_log_likelihoods(model.mixtures, feats, dtype=np.float64)
    columns = rng.integers(0, model.n_columns, len(feats))
    picked = column_log_likelihoods(model.mixtures, feats, columns)
    assert dense.shape == (300, model.n_columns) and dense.dtype == np.float32
    assert np.abs(dense[np.arange(300), columns] - picked).max() < 2e-3  # float32 vs 64
    assert np.abs(exact64[np.arange(300), columns] - picked).max() < 1e-4  # float32 out
    # a column beyond the phones' (the filler's) scores 0
    assert column_log_likelihoods(model.mixtures, feats[:3],
                                  np.full(3, model.filler_column)).tolist() == [0, 0, 0]


def test_labelling_takes_the_best_left_to_right_path(model):
    """label_columns against brute force over every way of cutting a segment into
    the phone's three states in order."""
    rng = np.random.default_rng(2)
    p = model.index("AA")
    stay = model.stay_logprob[p]
    leave = leave_logprob(stay)
    for n in (3, 5, 8):
        loglik = rng.normal(-50, 5, (n, model.n_columns)).astype(np.float32)
        got = label_columns(model, loglik, [("AA", 0, n)]) - model.column(p, 0)
        best, best_path = -np.inf, None
        for a, b in itertools.combinations(range(1, n), 2):  # first frame of states 1, 2
            path = np.array([0] * a + [1] * (b - a) + [2] * (n - b))
            score = loglik[np.arange(n), model.column(p, 0) + path].sum()
            score += sum(stay[path[t]] if path[t] == path[t - 1] else leave[path[t - 1]]
                         for t in range(1, n))
            if score > best:
                best, best_path = score, path
        assert got.tolist() == best_path.tolist()
    # shorter than the phone's states: split evenly; frames outside segments: -1
    short = label_columns(model, np.zeros((4, model.n_columns)), [("AA", 1, 3)])
    assert short.tolist() == [-1, model.column(p, 0), model.column(p, 1), -1]


def test_map_moves_each_mean_by_its_share_of_the_data(model):
    rng = np.random.default_rng(3)
    column = model.column(model.index("IY"), 1)
    feats = (model.mixtures.means[column, 0] + 0.01 * rng.standard_normal(
        (40, model.features.dim))).astype(np.float32) + 1.0  # the data sit 1 above
    stats = Stats.zeros(model)
    accumulate(stats, model, feats, np.full(len(feats), column))
    occupancy = stats.occupancy[column]
    assert occupancy.sum() == pytest.approx(40)
    tau = 20.0
    adapted = map_update(model, stats, tau, variances=False, weights=False)
    moved = adapted.mixtures.means[column] - model.mixtures.means[column]
    data_mean = stats.first[column] / np.maximum(occupancy[:, None], 1e-12)
    expected = occupancy[:, None] / (occupancy[:, None] + tau) * (
        data_mean - model.mixtures.means[column])
    assert np.allclose(moved, expected, atol=1e-9)
    untouched = model.column(model.index("S"), 0)
    assert np.array_equal(adapted.mixtures.means[untouched], model.mixtures.means[untouched])
    comp = component_log_likelihoods(model.mixtures, feats, np.full(len(feats), column))
    assert comp.shape == (40, model.means.shape[2])
