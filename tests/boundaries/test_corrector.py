"""The boundary model's inputs and how it applies (vowelseg.boundaries.corrector)."""

from __future__ import annotations

import numpy as np
import pytest
from vowelseg.boundaries.corrector import boundary_feature_names, boundary_features
from vowelseg.result import MIN_PHONE_S
from vowelseg.result import moved as shifted


def test_spectral_change_peaks_where_the_spectrum_changes():
    # 200 frames of one spectrum, then another: the change curves peak at the edge
    rng = np.random.default_rng(0)
    cepstra = np.concatenate([np.tile([1.0, 0.0, 2.0], (100, 1)),
                              np.tile([3.0, 1.0, -1.0], (100, 1))])
    cepstra += 0.01 * rng.standard_normal(cepstra.shape)
    hop_s = 0.005
    # a boundary placed 15 ms late: the curves should say "the change is 3 frames earlier"
    units = [("AA1", 0.0, 100 * hop_s - 0.0025 + 0.015), ("S", 100 * hop_s - 0.0025 + 0.015, 1.0)]
    rows, at = boundary_features(cepstra, hop_s, units, [0])
    names = boundary_feature_names()
    assert at == [0] and rows.shape == (1, len(names))
    for lag in (2, 4, 8):
        assert rows[0, names.index(f"change{lag}_peak")] == -3
    assert rows[0, names.index("left_s")] == pytest.approx(units[0][2])


def test_shifts_keep_every_phone_at_least_its_minimum():
    units = [("SIL", 0.0, 0.1), ("AA1", 0.1, 0.13), ("T", 0.13, 0.2)]
    out = shifted(units, [0, 1], np.array([0.04, 0.0]))
    assert out[0][2] == out[1][1] == pytest.approx(0.13 - MIN_PHONE_S)
    assert out[1][2] == out[2][1] == pytest.approx(0.13)
    assert all(u[2] - u[1] >= MIN_PHONE_S - 1e-9 for u in out)


@pytest.mark.parametrize("objective", ["huber", "binary"])
def test_tree_arrays_predict_what_lightgbm_predicts(objective, tmp_path):
    lightgbm = pytest.importorskip("lightgbm")
    from vowelseg.boundaries.trees import Trees, from_lightgbm

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((2000, 6))
    rows[:, 0] = rng.integers(0, 40, 2000)  # a phone id
    rows[rng.random(2000) < 0.1, 2] = np.nan  # missing values
    rows[:, 3] = np.where(rng.random(2000) < 0.3, 0.0, rows[:, 3])
    target = np.sin(rows[:, 0]) + np.nan_to_num(rows[:, 2]) - rows[:, 3] ** 2
    labels = target if objective == "huber" else (target > 0).astype(float)
    booster = lightgbm.train(
        {"objective": objective, "num_leaves": 15, "verbose": -1, "num_threads": 1},
        lightgbm.Dataset(rows, labels, categorical_feature=[0]), 50)
    trees = from_lightgbm(booster)
    test = rng.standard_normal((500, 6))
    test[:, 0] = rng.integers(0, 45, 500)  # categories never seen too
    test[rng.random(500) < 0.2, 2] = np.nan
    test[rng.random(500) < 0.2, 3] = 0.0
    expected = booster.predict(test, raw_score=True)
    assert np.allclose(trees.predict(test), expected, atol=1e-9)
    np.savez(tmp_path / "t.npz", **trees.arrays("x."))
    again = Trees.from_arrays(np.load(tmp_path / "t.npz"), "x.")
    assert np.allclose(again.predict(test), expected, atol=1e-9)


def test_the_bundled_model_corrects_boundaries_and_calibrates_confidences(timit, resources):
    from vowelseg import Options, segment
    from vowelseg_lab.training.corpus import read_corpus

    assert resources.boundaries is not None
    utterances = read_corpus(timit)[::16]  # five speakers
    moved = []
    for utt in utterances:
        plain = segment(utt.wav, utt.text, resources, Options(correct_boundaries=False))
        fixed = segment(utt.wav, utt.text, resources)
        assert [p.phone for p in plain.phones] == [p.phone for p in fixed.phones]
        moved += [abs(a.end - b.end) for a, b in zip(plain.phones, fixed.phones, strict=True)]
        assert all(0.0 <= p.confidence <= 1.0 for p in fixed.phones)
        assert all(b.start >= a.end - 1e-9 for a, b in zip(fixed.phones[:-1], fixed.phones[1:],
                                                        strict=True))
    moved = np.array(moved)
    # it moves boundaries by a few ms, never by more than its limit
    assert 0.001 < np.median(moved) < 0.015 and moved.max() <= 0.04 + 1e-6


def test_an_unspoken_transcript_word_keeps_a_low_confidence(timit, resources):
    from vowelseg import segment
    from vowelseg.result import LOW_CONFIDENCE
    from vowelseg_lab.training.corpus import read_corpus

    low = 0
    utterances = read_corpus(timit)[:40:8]
    for utt in utterances:
        words = utt.text.split()
        k = len(words) // 2
        seg = segment(utt.wav, " ".join(words[:k] + ["really"] + words[k:]), resources)
        low += (not seg.words[k].found) or seg.words[k].confidence < LOW_CONFIDENCE
        if seg.words[k].confidence < LOW_CONFIDENCE:  # and so are its phones
            assert all(p.confidence <= seg.words[k].confidence + 1e-3
                       for p in seg.phones if p.word == k)
    # measured: 17 of the first 20 utterances
    assert low >= 4, low


def test_phone_and_word_scores_add_their_boundaries_log_probabilities():
    """A phone's score is the sum of its two boundaries' log-probabilities, a
    word's that of its start and its end; a side touching nothing counts the
    model's missing_logp."""
    from vowelseg.boundaries.corrector import (
        BoundaryEvidence,
        log_sigmoid,
        phone_and_word_scores,
    )
    from vowelseg.result import Timeline

    units = [("SIL", 0.0, 0.1), ("DH", 0.1, 0.15), ("AH0", 0.15, 0.2), ("K", 0.25, 0.3)]
    line = Timeline(units, [1, 2, 3], [0, 1], np.zeros(4), np.full(2, np.nan))
    found = BoundaryEvidence(line, np.zeros((2, 1)), np.zeros(4), [(1, 2), (3, 3)])
    scores = np.array([2.0, -1.0])  # SIL|DH and DH|AH0; AH0 and K touch nothing after
    phones, words = phone_and_word_scores(found, scores, missing_logp=-0.5)
    a, b = log_sigmoid(scores)
    assert np.allclose(phones, [-0.5 + a, a + b, b - 0.5, -1.0])
    assert np.allclose(words, [a - 0.5, -1.0])
    assert np.allclose(log_sigmoid(np.array([0.0, 40.0, -40.0])), [np.log(0.5), 0.0, -40.0])


def test_a_boundary_model_of_the_old_layout_is_refused_with_what_to_do(tmp_path):
    from vowelseg.boundaries.corrector import load
    from vowelseg.errors import ModelError

    np.savez(tmp_path / "old.boundaries.npz", card=np.array("{}"))
    with pytest.raises(ModelError, match="fit-boundaries"):
        load(tmp_path / "old.boundaries.npz")
