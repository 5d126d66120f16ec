"""Measuring a recording's vowels: in this process, or, for a long recording,
shared among this process and helpers it starts. Each vowel is measured from
its own samples, so the values are the same however the vowels are shared."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from vowelseg.measures.ceiling import choose_ceiling
from vowelseg.measures.resample import Stretch
from vowelseg.measures.vowels import VowelMeasures, measure_stretch

#: Vowels a recording needs before :func:`measure_vowels` shares them among
#: processes (about 20 minutes of speech; shorter recordings were slower shared:
#: docs/experiments.md, Measures).
PARALLEL_MIN_VOWELS = 4000
#: What starting a helper process costs (spawning it, importing numpy, Praat and
#: scipy), in vowels measured: each helper gets that many fewer than the process
#: that started it (docs/experiments.md, Measures).
_START_VOWELS = 1500


def measure_vowels(samples: np.ndarray, sample_rate: int,
                   intervals: Sequence[tuple[float, float]],
                   ceiling_hz: float | None = None,
                   phones: Sequence[str] | None = None,
                   processes: int = 1) -> list[VowelMeasures]:
    """Measure every vowel interval of one recording.

    Parameters
    ----------
    samples : np.ndarray
        Mono signal, float in [-1, 1].
    sample_rate : int
        Hz.
    intervals : sequence of (start_s, end_s)
        The vowels.
    ceiling_hz : float, optional
        Formant ceiling; chosen by
        :func:`~vowelseg.measures.ceiling.choose_ceiling` if not given.
    phones : sequence of str, optional
        Each interval's ARPAbet vowel: r-coloured ones
        (:data:`~vowelseg.measures.ceiling.RHOTIC`) are measured with at most
        :data:`~vowelseg.measures.ceiling.RHOTIC_CEILING_HZ`.
    processes : int
        With at least :data:`PARALLEL_MIN_VOWELS` vowels, share them among this
        process and ``processes - 1`` started for the call (not from a daemonic
        process, which may not start any; intervals in time order). Each vowel
        is measured from its own samples, so the values are the same however
        they are shared.

    Returns
    -------
    list of VowelMeasures
        One per interval, in order.
    """
    if ceiling_hz is None:
        ceiling_hz = choose_ceiling(samples, sample_rate, intervals)
    intervals = list(intervals)
    phones = list(phones) if phones is not None else [""] * len(intervals)
    # every helper gets at least _START_VOWELS vowels: fewer would not repay its start
    helpers = min(processes - 1, (len(intervals) - _START_VOWELS) // max(1, _START_VOWELS))
    if (helpers < 1 or len(intervals) < PARALLEL_MIN_VOWELS
            or multiprocessing.current_process().daemon
            or any(a[0] > b[0] for a, b in zip(intervals, intervals[1:], strict=False))):
        return measure_stretch(Stretch(samples, float(sample_rate)), intervals, ceiling_hz, phones)
    # each helper gets fewer vowels than this process by what its start costs
    each = max(1, (len(intervals) - _START_VOWELS) // (helpers + 1))
    groups = [(k * each, (k + 1) * each) for k in range(helpers)]
    with ProcessPoolExecutor(max_workers=helpers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = []
        for i, j in groups:
            # whole seconds on either side: the piece starts on a multiple of
            # every resampling ratio's denominator, and holds every margin
            first = max(0, int(intervals[i][0]) - 1) * sample_rate
            last = min(len(samples), (int(max(b for _, b in intervals[i:j])) + 2) * sample_rate)
            futures.append(pool.submit(_measure_piece, samples[first:last], sample_rate, first,
                                       intervals[i:j], ceiling_hz, phones[i:j]))
        i = helpers * each
        own = measure_stretch(Stretch(samples, float(sample_rate)), intervals[i:], ceiling_hz,
                              phones[i:])
        return [m for f in futures for m in f.result()] + own


def _measure_piece(samples: np.ndarray, sample_rate: int, first: int,
                   intervals: list[tuple[float, float]], ceiling_hz: float,
                   phones: list[str]) -> list[VowelMeasures]:
    """:func:`~vowelseg.measures.vowels.measure_stretch` on a piece of a
    recording starting at sample ``first`` (in a process of
    :func:`measure_vowels`' pool)."""
    return measure_stretch(Stretch(samples, float(sample_rate), first), intervals, ceiling_hz,
                           phones)
