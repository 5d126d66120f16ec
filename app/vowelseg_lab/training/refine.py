"""Boundary corrections learned from hand-labelled speech.

An HMM aligner places boundaries with systematic, type-dependent biases
(a vowel's end before a stop, say, a few ms early against human labels).
:func:`learn_boundary_offsets` measures the mean signed error per boundary
type (pair of broad classes) and per pair of phones on labelled training
speech, each phone pair's shrunk towards its type's; the pipeline then shifts
each boundary by its pair's offset, or its type's for a pair never seen
(:func:`vowelseg.result.shift_boundaries`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from vowelseg.result import Segmentation, boundary_key, pair_key

from vowelseg_lab.training.corpus import Utterance, edit_alignment, fold_hypothesis, fold_reference


def signed_boundary_errors(utt: Utterance, seg: Segmentation,
                           max_error_s: float) -> list[tuple[str, str, float]]:
    """``(boundary_key, pair_key, reference - hypothesis)`` for each reference
    boundary whose two phones align, with the same labels, to two consecutive
    hypothesis phones."""
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
            left, right = ref[i][0], ref[i + 1][0]
            out.append((boundary_key(left, right), pair_key(left, right), error))
    return out


def learn_boundary_offsets(
    utterances: Sequence[Utterance],
    align: Callable[[Utterance], Segmentation],
    shrink: float = 20.0,
    max_error_s: float = 0.05,
) -> dict[str, float]:
    """Mean signed boundary error per type, shrunk towards 0, and per phone
    pair, shrunk towards its type's.

    Parameters
    ----------
    align : callable
        Aligns an utterance *without* boundary offsets.
    shrink : float
        Pseudo-count added to every type (of zero errors) and to every phone
        pair (of its type's offset), so rare ones move little from there.
    max_error_s : float
        Errors beyond this are alignment mistakes, not bias, and are ignored.

    Returns
    -------
    dict
        Seconds by type (``"vowel>stop"``) and by phone pair (``"AE>T"``).
    """
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    type_of: dict[str, str] = {}
    for utt in utterances:
        for kind, pair, error in signed_boundary_errors(utt, align(utt), max_error_s):
            for key in (kind, pair):
                sums[key] += error
                counts[key] += 1
            type_of[pair] = kind
    offsets = {k: sums[k] / (counts[k] + shrink) for k in sums if k not in type_of}
    offsets |= {p: (sums[p] + shrink * offsets[k]) / (counts[p] + shrink)
                for p, k in type_of.items()}
    return {k: round(v, 5) for k, v in sorted(offsets.items())}
