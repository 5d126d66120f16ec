"""The formant ceiling: chosen per recording the way FastTrack chooses it, and
moved for a vowel whose F1 or F2 is a pole too wide to be a formant.

Every candidate ceiling in :data:`CEILINGS_HZ` is tried on (up to
:data:`CEILING_TOKENS` of) the recording's vowels, and the one whose F1-F3
tracks a cubic in time fits best (the smoothest, most plausible tracks) is
kept; the default ceiling of Praat (:data:`DEFAULT_CEILING_HZ`) is kept unless
another is clearly smoother.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vowelseg.measures.praat import TRACK_POINTS, formant_span, formants_at_points, vowel_track
from vowelseg.measures.resample import Stretch, resampled

#: Candidate formant ceilings, Hz: FastTrack's range for adult voices.
CEILINGS_HZ: tuple[float, ...] = tuple(float(c) for c in np.arange(4500.0, 7001.0, 250.0))
#: Praat's default ceiling (an adult female voice), kept unless another ceiling
#: fits the tracks at least :data:`CLEARLY_SMOOTHER` times better, and better by
#: at least :data:`SMOOTHER_BY` (:func:`track_misfit`'s units). Steady vowels fit
#: a cubic within a few thousandths under every ceiling, and which fits best
#: then flips with a one-sample shift of the audio: the margin keeps the default
#: for them. Real vowels' tracks miss by more, where the ratio decides
#: (docs/experiments.md, Measures).
DEFAULT_CEILING_HZ = 5500.0
CLEARLY_SMOOTHER = 0.8
SMOOTHER_BY = 0.003
#: A vowel whose F1 or F2 at its middle is wider than this, Hz, has a pole
#: reported that is not a formant (in some women's front vowels, an "F2" far
#: below the spectrogram's); it is measured under the nearest ceiling, at most
#: :data:`WIDE_SEARCH_HZ` away, where F1 and F2 are narrower (FastTrack rejects
#: ceilings whose B2 exceeds 500 Hz; docs/experiments.md, Measures).
WIDE_HZ = 1000.0
WIDE_SEARCH_HZ = 1000.0
#: r-coloured vowels (ARPAbet, without stress) and the highest ceiling they are
#: measured with, Hz: their F3 is low (1500-2000 Hz), and a ceiling chosen for
#: the other vowels can skip it (docs/experiments.md, Measures).
RHOTIC = ("ER",)
RHOTIC_CEILING_HZ = 5000.0
#: Vowels the ceiling is chosen on (evenly spaced over the recording).
CEILING_TOKENS = 40
#: How far (relative) a candidate ceiling's median F1-F3 may stray from the
#: default ceiling's on a vowel before that vowel counts as relabelled: the
#: smoothest tracks can be wrong ones (under a high ceiling a lone vowel's F2
#: can be reported as its F1; docs/experiments.md, Measures).
RELABELLED = 0.2
#: Shortest vowel measured (and judged by the ceiling choice), seconds.
MIN_VOWEL_S = 0.03


def track_misfit(tracks: np.ndarray) -> float:
    """How far F1-F3 tracks ``(n_times, 3)`` stray from a cubic in time: the mean
    absolute residual relative to each formant's mean, summed over formants
    (``inf`` when a value is missing)."""
    if len(tracks) < 5 or not np.isfinite(tracks).all():
        return float("inf")
    t = np.linspace(-1.0, 1.0, len(tracks))
    design = np.vander(t, 4)
    coef, *_ = np.linalg.lstsq(design, tracks, rcond=None)
    residual = np.abs(tracks - design @ coef).mean(axis=0)
    return float((residual / tracks.mean(axis=0)).sum())


def choose_ceiling(samples: np.ndarray, sample_rate: int,
                   intervals: Sequence[tuple[float, float]],
                   ceilings: Sequence[float] = CEILINGS_HZ) -> float:
    """The formant ceiling under which the recording's vowel tracks are smoothest
    (median :func:`track_misfit` of the tracks from 10 to 90 % of up to
    :data:`CEILING_TOKENS` vowels); :data:`DEFAULT_CEILING_HZ` unless another is
    clearly better (:data:`CLEARLY_SMOOTHER`, :data:`SMOOTHER_BY`). A ceiling
    under which most vowels' F1-F3 are more than :data:`RELABELLED` away from
    the default's is not taken."""
    usable = [(a, b) for a, b in intervals if b - a >= MIN_VOWEL_S]
    if not usable:
        return DEFAULT_CEILING_HZ
    picked = [usable[int(i)] for i in np.linspace(0, len(usable) - 1,
                                                  min(CEILING_TOKENS, len(usable)))]
    default = min(ceilings, key=lambda c: abs(c - DEFAULT_CEILING_HZ))
    source = Stretch(samples, float(sample_rate))
    misfit, levels = {}, {}
    for ceiling in ceilings:
        errors, medians = [], []
        for a, b in picked:
            a, b = a + 0.1 * (b - a), b - 0.1 * (b - a)
            _, first, last = formant_span(a, b, 9)
            audio = resampled(source, 2.0 * ceiling, first, last)
            tracks = formants_at_points(audio, a, b, ceiling, 9)[:, :, 0]
            errors.append(track_misfit(tracks))
            medians.append(np.nanmedian(tracks, axis=0) if np.isfinite(tracks).any(axis=0).all()
                           else np.full(3, np.nan))
        misfit[ceiling] = float(np.median(errors))
        levels[ceiling] = np.array(medians)
    # a ceiling may refine the default's formants, not relabel them: one whose
    # F1-F3 are more than RELABELLED apart from the default's on most vowels
    # skipped or split a formant, however smooth its tracks
    moved = {c: np.nanmax(np.abs(levels[c] / levels[default] - 1.0), axis=1) for c in ceilings}
    allowed = [c for c in ceilings
               if np.mean(~(moved[c] <= RELABELLED)) <= 0.5 or c == default]
    best = min(allowed, key=misfit.get)
    if misfit[best] < min(CLEARLY_SMOOTHER * misfit[default], misfit[default] - SMOOTHER_BY):
        return float(best)
    return float(default)


def narrow_track(source: Stretch, chunks: dict[float, Stretch], start_s: float,
                 end_s: float, ceiling_hz: float, highest_hz: float) -> tuple[np.ndarray, float]:
    """The vowel's track under ``ceiling_hz``; or, when F1 or F2 at its middle
    is wider than :data:`WIDE_HZ` (a pole that is not a formant), under the
    nearest ceiling (up to :data:`WIDE_SEARCH_HZ` away, none above
    ``highest_hz``) where they are narrow and F1 stays within
    :data:`RELABELLED` of the first. Returns the track and its ceiling."""
    track = vowel_track(source, chunks, start_s, end_s, ceiling_hz)
    middle = track[TRACK_POINTS // 2]
    if middle[:2, 1].max() <= WIDE_HZ:
        return track, ceiling_hz
    others = sorted((c for c in CEILINGS_HZ if c != ceiling_hz and c <= highest_hz
                     and abs(c - ceiling_hz) <= WIDE_SEARCH_HZ),
                    key=lambda c: (abs(c - ceiling_hz), c))
    for other in others:
        # a few vowels in a recording: their own spans, not 30 s chunks at each rate
        candidate = vowel_track(source, None, start_s, end_s, other)
        there = candidate[TRACK_POINTS // 2]
        if there[:2, 1].max() <= WIDE_HZ and abs(there[0, 0] / middle[0, 0] - 1.0) <= RELABELLED:
            return candidate, other
    return track, ceiling_hz
