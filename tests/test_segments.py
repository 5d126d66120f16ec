"""Boundary offsets move the right boundaries and keep every phone."""

from __future__ import annotations

import pytest

from app.segments import PhoneInterval, Segmentation, WordInterval, shift_boundaries


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
