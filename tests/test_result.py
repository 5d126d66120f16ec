"""Boundary offsets move the right boundaries and keep every phone."""

from __future__ import annotations

import pytest
from vowelseg.result import PhoneInterval, Segmentation, WordInterval, timeline
from vowelseg.result import shift_boundaries as shift_timeline


def shift_boundaries(s: Segmentation, offsets_s: dict[str, float]) -> Segmentation:
    return shift_timeline(s, timeline(s), offsets_s)[0]


def seg():
    phones = [PhoneInterval("HH", 0.10, 0.15, "consonant", 0),
              PhoneInterval("AE1", 0.15, 0.30, "vowel", 0),
              PhoneInterval("T", 0.30, 0.31, "consonant", 0)]
    return Segmentation(0.5, 16000, [WordInterval("hat", 0.10, 0.31, ("HH", "AE1", "T"),
                                                  "cmudict")],
                        phones, [(0.0, 0.10), (0.31, 0.5)])


def test_offsets_shift_boundaries_of_their_type_only():
    out = shift_boundaries(seg(), {"vowel>stop": -0.004, "pause>fricative": 0.002})
    assert [(p.start, p.end) for p in out.phones] == [
        (0.102, 0.15), (0.15, 0.296), (0.296, 0.31)]
    assert out.pauses == [(0.0, 0.102), (0.31, 0.5)]
    assert (out.words[0].start, out.words[0].end) == (0.102, 0.31)


def test_a_shift_never_squeezes_a_phone_below_the_minimum():
    out = shift_boundaries(seg(), {"stop>pause": -0.05})
    t = out.phones[-1]
    assert t.end - t.start == pytest.approx(0.01)  # T was already 10 ms: unchanged
    assert shift_boundaries(seg(), {}) == seg()


def test_a_phone_pairs_offset_comes_before_its_types():
    out = shift_boundaries(seg(), {"vowel>stop": -0.004, "AE>T": -0.001})
    assert [(p.start, p.end) for p in out.phones][1:] == [(0.15, 0.299), (0.299, 0.31)]


def test_pair_offsets_are_shrunk_towards_their_types():
    from vowelseg_lab.training import corpus
    from vowelseg_lab.training.refine import learn_boundary_offsets

    # reference: pause | HH | AE | T | pause ; hypothesis: AE>T always 10 ms early,
    # HH>AE 4 ms late, so the vowel>stop type has 4 errors of +10 ms
    ref = [("h#", 0.0, 0.1), ("hh", 0.1, 0.15), ("ae", 0.15, 0.30), ("t", 0.30, 0.35),
           ("h#", 0.35, 0.5)]
    utt = corpus.Utterance("x", None, "hat", ref, [("hat", 0.1, 0.35)], 0.5)
    hyp = seg()
    phones = [PhoneInterval("HH", 0.10, 0.154, "consonant", 0),
              PhoneInterval("AE1", 0.154, 0.29, "vowel", 0),
              PhoneInterval("T", 0.29, 0.35, "consonant", 0)]
    hyp = Segmentation(0.5, 16000, hyp.words, phones, [(0.0, 0.10), (0.35, 0.5)])
    offsets = learn_boundary_offsets([utt] * 4, lambda u: hyp, shrink=4.0)
    assert offsets["vowel>stop"] == pytest.approx(4 * 0.010 / (4 + 4))  # shrunk to 0
    assert offsets["AE>T"] == pytest.approx((4 * 0.010 + 4 * 0.005) / (4 + 4))  # to its type
    assert offsets["fricative>vowel"] == pytest.approx(-0.002)
    assert offsets["HH>AE"] == pytest.approx((-0.016 - 0.008) / 8)
