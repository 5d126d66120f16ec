"""Boundary corrections learned from hand-labelled speech.

An HMM aligner places boundaries with systematic, type-dependent biases
(a vowel's end before a stop, say, a few ms early against human labels).
:func:`learn_boundary_offsets` measures the mean signed error per boundary
type (pair of broad classes) on labelled training speech; the pipeline then
shifts each boundary by its type's offset (:func:`app.segments.shift_boundaries`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from .corpus import Utterance, edit_alignment, fold_hypothesis, fold_reference
from .segments import Segmentation, boundary_key


def signed_boundary_errors(utt: Utterance, seg: Segmentation,
                           max_error_s: float) -> list[tuple[str, float]]:
    """``(boundary_key, reference - hypothesis)`` for each reference boundary whose
    two phones align, with the same labels, to two consecutive hypothesis phones."""
    ref = fold_reference(utt.phones)
    hyp = fold_hypothesis(seg, utt.duration)
    link = edit_alignment([r[0] for r in ref], [h[0] for h in hyp])
    out = []
    for i in range(len(ref) - 1):
        j = link[i]
        if j < 0 or link[i + 1] != j + 1:
            continue
        if ref[i][0] != hyp[j][0] or ref[i + 1][0] != hyp[j + 1][0]:
            continue
        error = ref[i][2] - hyp[j][2]
        if abs(error) <= max_error_s:
            out.append((boundary_key(ref[i][0], ref[i + 1][0]), error))
    return out


def learn_boundary_offsets(
    utterances: Sequence[Utterance],
    align: Callable[[Utterance], Segmentation],
    shrink: float = 20.0,
    max_error_s: float = 0.05,
) -> dict[str, float]:
    """Mean signed boundary error per type, shrunk towards 0.

    Parameters
    ----------
    align : callable
        Aligns an utterance *without* boundary offsets.
    shrink : float
        Pseudo-count of zero errors added to every type, so rare types
        move little.
    max_error_s : float
        Errors beyond this are alignment mistakes, not bias, and are ignored.
    """
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for utt in utterances:
        for key, error in signed_boundary_errors(utt, align(utt), max_error_s):
            sums[key] += error
            counts[key] += 1
    return {k: round(sums[k] / (counts[k] + shrink), 5) for k in sorted(sums)}
