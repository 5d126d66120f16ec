"""The benchmark's measure on hand-made cases with known answers."""

from __future__ import annotations

import pytest
from vowelseg.result import PhoneInterval, Segmentation, WordInterval
from vowelseg_lab.bench import metrics as bench
from vowelseg_lab.training import corpus


def seg_of(phones, words, duration):
    ph = [PhoneInterval(p, s, e, cls, w) for p, s, e, cls, w in phones]
    wd = [WordInterval(w, s, e, (), "cmudict") for w, s, e in words]
    return Segmentation(duration, 16000, wd, ph, [])


REF_PHONES = [("h#", 0.0, 0.1), ("sh", 0.1, 0.2), ("iy", 0.2, 0.3), ("hv", 0.3, 0.35),
              ("ae", 0.35, 0.5), ("dcl", 0.5, 0.55), ("d", 0.55, 0.6), ("h#", 0.6, 0.8)]
REF_WORDS = [("she", 0.1, 0.3), ("had", 0.3, 0.6)]


def utterance():
    return corpus.Utterance("x", None, "She had", REF_PHONES, REF_WORDS, 0.8)


def test_fold_reference_merges_closure_and_release_and_pauses():
    folded = corpus.fold_reference(REF_PHONES + [("pau", 0.8, 0.9)])
    assert [p for p, _, _ in folded] == ["SIL", "SH", "IY", "HH", "AE", "D", "SIL"]
    assert folded[5] == ("D", 0.5, 0.6)
    assert folded[-1] == ("SIL", 0.6, 0.9)


def test_fold_reference_lone_closure_and_glottal_stop():
    folded = corpus.fold_reference([("ah", 0, 1), ("q", 1, 2), ("tcl", 2, 3), ("s", 3, 4)])
    assert folded == [("AH", 0, 2), ("T", 2, 3), ("S", 3, 4)]


def test_edit_alignment_handles_insertions_and_deletions():
    assert bench.edit_alignment(list("abcd"), list("abxcd")) == [0, 1, 3, 4]
    assert bench.edit_alignment(list("abcd"), list("abd")) == [0, 1, -1, 2]


def test_perfect_hypothesis_scores_one():
    hyp = seg_of([("SH", 0.1, 0.2, "consonant", 0), ("IY1", 0.2, 0.3, "vowel", 0),
                  ("HH", 0.3, 0.35, "consonant", 1), ("AE1", 0.35, 0.5, "vowel", 1),
                  ("D", 0.5, 0.6, "consonant", 1)], [("she", 0.1, 0.3), ("had", 0.3, 0.6)], 0.8)
    tally = bench.Tally()
    tally.add(utterance(), hyp)
    m = tally.metrics()
    for key in ("frame_acc3", "vowel_f1", "vb_f1@10", "pb@10", "pb_matched", "wb@20"):
        assert m[key] == pytest.approx(1.0), key
    assert m["word_mae_ms"] == pytest.approx(0.0)


def test_shifted_hypothesis_scores_by_tolerance():
    shift = 0.015
    hyp = seg_of([("SH", 0.1 + shift, 0.2 + shift, "consonant", 0),
                  ("IY1", 0.2 + shift, 0.3 + shift, "vowel", 0),
                  ("HH", 0.3 + shift, 0.35 + shift, "consonant", 1),
                  ("AE1", 0.35 + shift, 0.5 + shift, "vowel", 1),
                  ("D", 0.5 + shift, 0.6 + shift, "consonant", 1)],
                 [("she", 0.1 + shift, 0.3 + shift), ("had", 0.3 + shift, 0.6 + shift)], 0.8)
    tally = bench.Tally()
    tally.add(utterance(), hyp)
    m = tally.metrics()
    assert m["vb_f1@10"] == 0.0 and m["vb_f1@20"] == 1.0
    assert m["pb@10"] == 0.0 and m["pb@20"] == 1.0
    assert m["pb_mae_ms"] == pytest.approx(15.0)
    assert m["word_mae_ms"] == pytest.approx(15.0)
    assert m["frame_acc3"] == pytest.approx(1 - 12 / 80)  # 2 frames wrong at each of 6 changes


def test_failed_utterance_counts_as_all_pause():
    tally = bench.Tally()
    tally.add(utterance(), None)
    m = tally.metrics()
    assert m["vowel_f1"] == 0.0 and m["pb@50"] == 0.0 and m["wb@50"] == 0.0
    assert m["frame_acc3"] == pytest.approx(0.375)  # the 30 reference pause frames of 80


def test_training_speakers_for_a_learning_curve():
    spk = ["a", "b", "c", "d"]
    assert bench.training_speakers(spk, "b") == ["c", "d", "a"]
    assert bench.training_speakers(spk, "c", 2) == ["d", "a"]
    # over the rounds each speaker is trained on equally often, never on itself
    rounds = [bench.training_speakers(spk, s, 2) for s in spk]
    assert all(s not in r for s, r in zip(spk, rounds, strict=True))
    assert sorted(x for r in rounds for x in r) == sorted(spk * 2)
    for bad in (0, 4):
        with pytest.raises(ValueError, match="1 to 3 speakers"):
            bench.training_speakers(spk, "a", bad)
