"""Vowel measurements: duration, formants, pitch and intensity of every vowel.

Formants are Praat's (Burg's method, through praat-parselmouth: Praat's own
code, the phoneticians' reference). The formant ceiling is chosen per
recording the way FastTrack chooses it: every candidate ceiling in
:data:`CEILINGS_HZ` is tried on (up to :data:`CEILING_TOKENS` of) the
recording's vowels, and the one whose F1-F3 tracks a cubic in time fits best
(the smoothest, most plausible tracks) is kept; the default ceiling of Praat
(:data:`DEFAULT_CEILING_HZ`) is kept unless another is clearly smoother. The
choice is reported. A vowel too short to measure, or with no voiced frame,
gets empty values and a reason, never a made-up number.
"""

from __future__ import annotations

import fractions
import functools
import multiprocessing
import os
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

#: Candidate formant ceilings, Hz: FastTrack's range for adult voices.
CEILINGS_HZ: tuple[float, ...] = tuple(float(c) for c in np.arange(4500.0, 7001.0, 250.0))
#: Praat's default ceiling (an adult female voice), kept unless another ceiling
#: fits the tracks at least :data:`CLEARLY_SMOOTHER` times better, and better by
#: at least :data:`SMOOTHER_BY` (:func:`track_misfit`'s units). Steady vowels fit
#: a cubic within a few thousandths under every ceiling, and which fits best
#: then flipped with a one-sample shift of the audio; on Klatt vowels at
#: Peterson & Barney's means (the development set, docs/experiments.md) such
#: choices made the median F1 error 2.33 % against 2.17 % at the default. Real
#: vowels' tracks miss by 0.01-0.05, where the ratio decides (no timit-dev
#: recording's choice changed).
DEFAULT_CEILING_HZ = 5500.0
CLEARLY_SMOOTHER = 0.8
SMOOTHER_BY = 0.003
#: A vowel whose F1 or F2 at its middle is wider than this, Hz, has a pole
#: reported that is not a formant (on timit-dev, F2 of 1300-1850 Hz with a
#: bandwidth of 2100-6300 Hz in women's front vowels, whose F2 is 2500-2800 Hz on
#: the spectrogram); it is measured under the nearest ceiling, at most
#: :data:`WIDE_SEARCH_HZ` away, where F1 and F2 are narrower (FastTrack rejects
#: ceilings whose B2 exceeds 500 Hz; docs/experiments.md).
WIDE_HZ = 1000.0
WIDE_SEARCH_HZ = 1000.0
#: r-coloured vowels (ARPAbet, without stress) and the highest ceiling they are
#: measured with, Hz: their F3 is low (1500-2000 Hz), and a ceiling chosen for
#: the other vowels can skip it (against FastTrack on timit-dev, ER tokens with
#: F3 above 2500 Hz went from 10 of 64 to 2; docs/experiments.md).
RHOTIC = ("ER",)
RHOTIC_CEILING_HZ = 5000.0
#: Vowels the ceiling is chosen on (evenly spaced over the recording).
CEILING_TOKENS = 40
#: How far (relative) a candidate ceiling's median F1-F3 may stray from the
#: default ceiling's on a vowel before that vowel counts as relabelled: the
#: smoothest tracks can be wrong ones. On Klatt vowels at Peterson & Barney's
#: means (a development set, not the tests' Hillenbrand vowels), a recording of
#: one /i/ got 6750-7000 Hz and its F2 reported as F1 (+808 %); with this guard,
#: at most 5 % off (docs/experiments.md, Vowel measurements).
RELABELLED = 0.2
#: Shortest vowel measured, seconds.
MIN_VOWEL_S = 0.03
#: Vowels a recording needs before :func:`measure_vowels` shares them among
#: processes (about 20 minutes of speech; at 1814 vowels, 10 minutes, sharing
#: them equally between two processes took 4.4-4.8 s instead of 3.6-3.8 s).
PARALLEL_MIN_VOWELS = 4000
#: What starting a helper process costs (importing numpy, Praat and scipy,
#: about 1.3 s), in vowels measured (0.86 ms each): each helper gets that many
#: fewer than the process that started it.
_START_VOWELS = 1500
#: Points where formants are reported besides the 11-point track.
POINTS = (0.2, 0.5, 0.8)
#: Pitch range searched, Hz (the floor is Praat's default: 60 Hz cost a third
#: more time for the same f0s, docs/experiments.md).
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 75.0, 500.0
#: Pitch frames in a long vowel, at least (see :func:`_pitch_and_level`).
PITCH_FRAMES = 6
#: Praat's formant analysis window (its Gaussian spans twice this), seconds.
_FORMANT_WINDOW_S = 0.025
#: Audio kept beyond a piece before resampling it, seconds (the resampler's
#: edge transients stay out of the analysed part).
_RESAMPLE_MARGIN_S = 0.02
#: Half-length of the resampler's filter, zero crossings of its sinc.
_RESAMPLE_ZEROS = 16
_PITCH_STEP_S = 0.01
#: Audio resampled at a time for the formants, seconds.
_CHUNK_S = 30.0
#: Pitch (window 3 / floor = 40 ms) needs this much audio on each side of a
#: vowel, seconds.
_PITCH_PAD_S = 0.02
#: Track points: 0, 10, ..., 100 % of each vowel.
TRACK_POINTS = 11


@dataclass(frozen=True)
class VowelMeasures:
    """What one vowel measured. ``None`` where nothing could be measured;
    ``reason`` then says why.

    Attributes
    ----------
    duration_ms : float
    f0_hz : float or None
        Median over the vowel's voiced frames.
    intensity_db : float or None
        The vowel's intensity, dB: its mean power re (2e-5)^2, Praat's "Get
        intensity (dB)" of the vowel (for a signal in Pa; full scale is 1).
    formants_hz : dict
        ``{20: (F1, F2, F3), 50: (...), 80: (...)}`` at 20, 50 and 80 % of the
        vowel, Hz.
    bandwidths_hz : dict
        The same points' B1-B3, Hz.
    track_hz : list
        F1-F3 at 0, 10, ..., 100 % of the vowel (11 points).
    ceiling_hz : float
        The formant ceiling the recording was analysed with.
    reason : str or None
        Why values are missing.
    """

    duration_ms: float
    f0_hz: float | None
    intensity_db: float | None
    formants_hz: dict[int, tuple[float | None, ...]] = field(default_factory=dict)
    bandwidths_hz: dict[int, tuple[float | None, ...]] = field(default_factory=dict)
    track_hz: list[tuple[float | None, ...]] = field(default_factory=list)
    ceiling_hz: float = DEFAULT_CEILING_HZ
    reason: str | None = None

    @property
    def midpoint_hz(self) -> tuple[float | None, ...]:
        """F1-F3 at the vowel's midpoint."""
        return self.formants_hz.get(50, (None, None, None))


@dataclass(frozen=True)
class Stretch:
    """A stretch of a recording at some rate.

    Attributes
    ----------
    samples : np.ndarray
        ``(n,)``, float.
    rate : float
        Hz.
    first : int
        Index of ``samples[0]`` among the recording's samples at ``rate``
        (sample ``k`` is at ``k / rate`` seconds).
    """

    samples: np.ndarray
    rate: float
    first: int = 0

    @property
    def start_s(self) -> float:
        """Time of ``samples[0]`` in the recording, seconds."""
        return self.first / self.rate

    def cut(self, start_s: float, end_s: float) -> Stretch:
        """The samples from ``start_s`` to ``end_s``, as far as the stretch goes.
        Cut by whole sample indices, so the same span gives the same samples
        from any stretch of the recording."""
        i = max(0, int(np.floor(start_s * self.rate)) - self.first)
        j = min(len(self.samples), int(np.ceil(end_s * self.rate)) - self.first)
        return Stretch(self.samples[i:j], self.rate, self.first + i)

    def sound(self, start_s: float, end_s: float):  # noqa: ANN201 (parselmouth.Sound)
        """:meth:`cut` as a Praat Sound on the recording's time axis."""
        import parselmouth

        part = self.cut(start_s, end_s)
        # Praat's Sound starts half a sample before its first sample
        return parselmouth.Sound(part.samples, self.rate,
                                 start_time=(part.first - 0.5) / self.rate)


@functools.lru_cache(maxsize=32)
def _lowpass_taps(up: int, down: int) -> np.ndarray:
    """The polyphase resampler's filter: a Kaiser-windowed sinc with its cutoff
    at the lower of the two Nyquist frequencies, :data:`_RESAMPLE_ZEROS` zero
    crossings either side (at the slower rate)."""
    import scipy.signal

    n = 2 * _RESAMPLE_ZEROS * max(up, down) + 1
    return scipy.signal.firwin(n, 1.0 / max(up, down), window=("kaiser", 10.0)) * up


def resampled(source: Stretch, rate: float, start_s: float, end_s: float) -> Stretch:
    """``source`` from ``start_s`` to ``end_s`` (clipped to it) at ``rate``.
    The resampler is given :data:`_RESAMPLE_MARGIN_S` more on each side, cut
    off again, so that its edges stay out of the stretch.

    A polyphase FIR (scipy's ``resample_poly``) whose passband reaches the new
    Nyquist frequency, as Praat's resampling (an FFT low-pass there, then sinc
    interpolation) does before its formant analysis: on the Klatt vowels at
    Praat's 5500 Hz ceiling, median errors F1-F3 1.60 / 1.00 / 1.01 %, against
    Praat's own 1.56 / 1.00 / 0.99 %, where soxr (whose passband stops about
    9 % short of Nyquist) gave 1.64 / 1.05 / 1.09 %; 9 ms per 30 s, against
    Praat's 113 ms and soxr's 5 ms.
    """
    import scipy.signal

    ratio = fractions.Fraction(int(round(rate)), int(source.rate))
    if ratio != fractions.Fraction(rate) / fractions.Fraction(source.rate):
        raise ValueError(f"resampling to {rate} Hz needs a whole number of Hz")
    up, down = ratio.numerator, ratio.denominator
    if source.first % down:
        raise ValueError("a source stretch must start on a multiple of the resampling "
                         f"ratio's denominator ({down})")
    # the stretch starts on a multiple of ``down`` samples, so that its samples
    # at the new rate fall at whole multiples of 1 / rate: a vowel is analysed
    # on the same samples whichever stretch it was cut from
    a = int(np.floor((start_s - _RESAMPLE_MARGIN_S) * source.rate)) // down * down
    a = max(source.first, a)
    b = min(source.first + len(source.samples),
            int(np.ceil((end_s + _RESAMPLE_MARGIN_S) * source.rate)))
    y = np.asarray(source.samples[a - source.first:b - source.first], dtype=np.float64)
    if up != down:
        y = scipy.signal.resample_poly(y, up, down, window=_lowpass_taps(up, down))
    # a * up / down is a whole number: a is a multiple of down
    return Stretch(y, float(rate), a * up // down).cut(start_s, end_s)


def _formant_span(start_s: float, end_s: float, n_points: int) -> tuple[float, float, float]:
    """Time step, and the span of audio whose Praat frames fall on ``n_points``
    evenly spaced times from ``start_s`` to ``end_s``: Praat centres its frames in
    the Sound, and fits as many whole windows as the Sound holds."""
    step_s = (end_s - start_s) / (n_points - 1)
    half_s = 0.5 * (end_s - start_s) + _FORMANT_WINDOW_S + 0.25 * step_s
    middle = 0.5 * (start_s + end_s)
    return step_s, middle - half_s, middle + half_s


def formants_at_points(audio: Stretch, start_s: float, end_s: float, ceiling_hz: float,
                       n_points: int = TRACK_POINTS) -> np.ndarray:
    """Praat's Burg formants at ``n_points`` evenly spaced times from ``start_s``
    to ``end_s``, each analysed at exactly its own time: the Sound is cut so that
    Praat's frames fall on the points, so no frame is analysed that is not
    reported and no value is interpolated between frames.

    Parameters
    ----------
    audio : Stretch
        At twice ``ceiling_hz`` (the rate Praat would resample it to).

    Returns
    -------
    np.ndarray
        ``(n_points, 3, 2)``: F1-F3 and B1-B3, Hz (NaN where Praat finds none).
    """
    if audio.rate != 2.0 * ceiling_hz:
        raise ValueError(f"formants with a {ceiling_hz:g} Hz ceiling need audio at "
                         f"{2 * ceiling_hz:g} Hz, not {audio.rate:g}")
    step_s, a, b = _formant_span(start_s, end_s, n_points)
    formant = audio.sound(a, b).to_formant_burg(
        time_step=step_s, max_number_of_formants=5, maximum_formant=ceiling_hz,
        window_length=_FORMANT_WINDOW_S)
    value, bandwidth = formant.get_value_at_time, formant.get_bandwidth_at_time
    times = [start_s + i * step_s for i in range(n_points)]
    return np.array([[(value(k, t), bandwidth(k, t)) for k in (1, 2, 3)] for t in times])


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
            _, first, last = _formant_span(a, b, 9)
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


def _clean(values: np.ndarray) -> list:
    """Rows of ``values`` rounded to 0.1, with None for NaN: a list of tuples."""
    rounded = np.round(values, 1).astype(object)
    rounded[np.isnan(values)] = None
    return list(map(tuple, rounded.tolist()))


def _f0(audio: Stretch, start_s: float, end_s: float) -> np.ndarray:
    """f0 of a vowel's voiced pitch frames, Hz (Praat's autocorrelation pitch).

    Frames are 10 ms apart, or fewer for long vowels (at least
    :data:`PITCH_FRAMES` in any vowel): the median of a handful is as good as
    of many, and pitch frames are much of the cost of measuring.
    """
    sound = audio.sound(start_s - _PITCH_PAD_S, end_s + _PITCH_PAD_S)
    pitch = sound.to_pitch_ac(time_step=max(_PITCH_STEP_S, (end_s - start_s) / PITCH_FRAMES),
                              pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    times = pitch.ts()
    f0 = pitch.selected_array["frequency"][(times >= start_s) & (times <= end_s)]
    return f0[f0 > 0]


def intensity_db(samples: np.ndarray) -> float | None:
    """Mean power re (2e-5)^2, dB: Praat's "Get intensity (dB)" (None if silent)."""
    power = float(np.mean(np.square(samples, dtype=np.float64))) if len(samples) else 0.0
    return round(10.0 * np.log10(power / 4e-10), 1) if power > 0 else None


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
        Formant ceiling; chosen by :func:`choose_ceiling` if not given.
    phones : sequence of str, optional
        Each interval's ARPAbet vowel: r-coloured ones (:data:`RHOTIC`) are
        measured with at most :data:`RHOTIC_CEILING_HZ`.
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
        return _measure(Stretch(samples, float(sample_rate)), intervals, ceiling_hz, phones)
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
        own = _measure(Stretch(samples, float(sample_rate)), intervals[i:], ceiling_hz,
                       phones[i:])
        return [m for f in futures for m in f.result()] + own


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which container
    limits set; ``os.cpu_count`` counts the whole machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _measure_piece(samples: np.ndarray, sample_rate: int, first: int,
                   intervals: list[tuple[float, float]], ceiling_hz: float,
                   phones: list[str]) -> list[VowelMeasures]:
    """:func:`_measure` on a piece of a recording starting at sample ``first``
    (in a process of :func:`measure_vowels`' pool)."""
    return _measure(Stretch(samples, float(sample_rate), first), intervals, ceiling_hz, phones)


def _track(source: Stretch, chunks: dict[float, Stretch] | None, start_s: float,
           end_s: float, ceiling_hz: float) -> np.ndarray:
    """:func:`formants_at_points` of one vowel, from the chunk of ``source``
    resampled for ``ceiling_hz`` (resampled :data:`_CHUNK_S` at a time: as fast
    as the whole at once, in a fraction of the memory; kept in ``chunks``), or
    with ``chunks`` None from the vowel's own span resampled (the same values:
    the samples do not depend on the stretch)."""
    _, first, last = _formant_span(start_s, end_s, TRACK_POINTS)
    if chunks is None:
        return formants_at_points(resampled(source, 2.0 * ceiling_hz, first, last),
                                  start_s, end_s, ceiling_hz)
    chunk = chunks.get(ceiling_hz)
    if (chunk is None or first < chunk.start_s
            or last > chunk.start_s + len(chunk.samples) / chunk.rate):
        chunk = chunks[ceiling_hz] = resampled(source, 2.0 * ceiling_hz, first,
                                               max(last, first + _CHUNK_S))
    return formants_at_points(chunk, start_s, end_s, ceiling_hz)


def _narrow_track(source: Stretch, chunks: dict[float, Stretch], start_s: float,
                  end_s: float, ceiling_hz: float, highest_hz: float) -> tuple[np.ndarray, float]:
    """The vowel's track under ``ceiling_hz``; or, when F1 or F2 at its middle
    is wider than :data:`WIDE_HZ` (a pole that is not a formant), under the
    nearest ceiling (up to :data:`WIDE_SEARCH_HZ` away, none above
    ``highest_hz``) where they are narrow and F1 stays within
    :data:`RELABELLED` of the first. Returns the track and its ceiling."""
    track = _track(source, chunks, start_s, end_s, ceiling_hz)
    middle = track[TRACK_POINTS // 2]
    if middle[:2, 1].max() <= WIDE_HZ:
        return track, ceiling_hz
    others = sorted((c for c in CEILINGS_HZ if c != ceiling_hz and c <= highest_hz
                     and abs(c - ceiling_hz) <= WIDE_SEARCH_HZ),
                    key=lambda c: (abs(c - ceiling_hz), c))
    for other in others:
        # a few vowels in a recording: their own spans, not 30 s chunks at each rate
        candidate = _track(source, None, start_s, end_s, other)
        there = candidate[TRACK_POINTS // 2]
        if there[:2, 1].max() <= WIDE_HZ and abs(there[0, 0] / middle[0, 0] - 1.0) <= RELABELLED:
            return candidate, other
    return track, ceiling_hz


def _measure(source: Stretch, intervals: list[tuple[float, float]], ceiling_hz: float,
             phones: list[str]) -> list[VowelMeasures]:
    """Measure each interval of ``source`` (the recording, or a piece of it)
    under ``ceiling_hz``."""
    at = [round(p * (TRACK_POINTS - 1)) for p in POINTS]
    percent = [int(100 * p) for p in POINTS]
    rate = int(source.rate)
    chunks: dict[float, Stretch] = {}  # per ceiling
    out = []
    for (a, b), phone in zip(intervals, phones, strict=True):
        duration_ms = round(1000 * (b - a), 1)
        ceiling, highest = ceiling_hz, max(CEILINGS_HZ)
        if phone.rstrip("012") in RHOTIC:
            ceiling = min(ceiling_hz, RHOTIC_CEILING_HZ)
            highest = RHOTIC_CEILING_HZ
        if b - a < MIN_VOWEL_S:
            out.append(VowelMeasures(duration_ms, None, None, ceiling_hz=ceiling,
                                     reason=f"too short to measure ({duration_ms:g} ms; "
                                            f"{1000 * MIN_VOWEL_S:g} ms at least)"))
            continue
        track, ceiling = _narrow_track(source, chunks, a, b, ceiling, highest)
        voiced = _f0(source, a, b)
        own = source.samples[max(0, int(a * rate) - source.first):int(b * rate) - source.first]
        out.append(VowelMeasures(
            duration_ms=duration_ms,
            f0_hz=round(statistics.median(voiced.tolist()), 1) if len(voiced) else None,
            intensity_db=intensity_db(own),
            formants_hz=dict(zip(percent, _clean(track[at, :, 0]), strict=True)),
            bandwidths_hz=dict(zip(percent, _clean(track[at, :, 1]), strict=True)),
            track_hz=_clean(track[:, :, 0]),
            ceiling_hz=ceiling,
            reason=None if len(voiced) else "no voiced frame (whispered, or not a vowel)",
        ))
    return out


def lobanov(measures: Sequence[VowelMeasures]) -> list[tuple[float | None, float | None]]:
    """Lobanov-normalised midpoint F1 and F2 per vowel: z-scores over the
    recording's measured vowels (None where a vowel has no value, or fewer than
    two vowels have)."""
    values = np.array([[np.nan if v is None else v for v in m.midpoint_hz[:2]]
                       for m in measures], dtype=float).reshape(-1, 2)
    out = np.full_like(values, np.nan)
    for k in range(2):
        ok = np.isfinite(values[:, k])
        if ok.sum() >= 2 and values[ok, k].std() > 0:
            out[ok, k] = (values[ok, k] - values[ok, k].mean()) / values[ok, k].std()
    return [tuple(None if not np.isfinite(v) else round(float(v), 3) for v in row)
            for row in out]
