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

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Candidate formant ceilings, Hz: FastTrack's range for adult voices.
CEILINGS_HZ: tuple[float, ...] = tuple(float(c) for c in np.arange(4500.0, 7001.0, 250.0))
#: Praat's default ceiling (an adult female voice), kept unless another ceiling
#: fits the tracks at least :data:`CLEARLY_SMOOTHER` times better.
DEFAULT_CEILING_HZ = 5500.0
CLEARLY_SMOOTHER = 0.8
#: Vowels the ceiling is chosen on (evenly spaced over the recording).
CEILING_TOKENS = 40
#: Shortest vowel measured, seconds.
MIN_VOWEL_S = 0.03
#: Points where formants are reported besides the 11-point track.
POINTS = (0.2, 0.5, 0.8)
#: Pitch range searched, Hz.
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 60.0, 500.0
_TIME_STEP_S = 0.005
_PAD_S = 0.05


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
        Mean intensity, dB (Praat's scale: re 2e-5 Pa for a signal in Pa).
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


def _sound(samples: np.ndarray, sample_rate: int, start_s: float, end_s: float):  # noqa: ANN202
    import parselmouth

    a = max(0, int((start_s - _PAD_S) * sample_rate))
    b = min(len(samples), int(np.ceil((end_s + _PAD_S) * sample_rate)))
    return parselmouth.Sound(np.asarray(samples[a:b], dtype=np.float64), sample_rate,
                             start_time=a / sample_rate)


def _formant_values(formant, times: np.ndarray) -> np.ndarray:  # noqa: ANN001
    """``(len(times), 3, 2)``: F1-F3 and B1-B3 at ``times`` (NaN where undefined)."""
    out = np.full((len(times), 3, 2), np.nan)
    for i, t in enumerate(times):
        for k in range(3):
            out[i, k, 0] = formant.get_value_at_time(k + 1, float(t))
            out[i, k, 1] = formant.get_bandwidth_at_time(k + 1, float(t))
    return out


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
    (median :func:`track_misfit` over up to :data:`CEILING_TOKENS` vowels);
    :data:`DEFAULT_CEILING_HZ` unless another is clearly better."""
    usable = [(a, b) for a, b in intervals if b - a >= MIN_VOWEL_S]
    if not usable:
        return DEFAULT_CEILING_HZ
    picked = [usable[int(i)] for i in np.linspace(0, len(usable) - 1,
                                                  min(CEILING_TOKENS, len(usable)))]
    misfit = {}
    for ceiling in ceilings:
        errors = []
        for a, b in picked:
            formant = _sound(samples, sample_rate, a, b).to_formant_burg(
                time_step=_TIME_STEP_S, max_number_of_formants=5, maximum_formant=ceiling)
            times = np.linspace(a + 0.1 * (b - a), b - 0.1 * (b - a), 9)
            errors.append(track_misfit(_formant_values(formant, times)[:, :, 0]))
        misfit[ceiling] = float(np.median(errors))
    best = min(misfit, key=misfit.get)
    default = min(ceilings, key=lambda c: abs(c - DEFAULT_CEILING_HZ))
    if misfit[best] < CLEARLY_SMOOTHER * misfit[default]:
        return float(best)
    return float(default)


def _clean(values: np.ndarray) -> tuple[float | None, ...]:
    return tuple(None if not np.isfinite(v) else round(float(v), 1) for v in values)


def measure_vowels(samples: np.ndarray, sample_rate: int,
                   intervals: Sequence[tuple[float, float]],
                   ceiling_hz: float | None = None) -> list[VowelMeasures]:
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

    Returns
    -------
    list of VowelMeasures
        One per interval, in order.
    """
    if ceiling_hz is None:
        ceiling_hz = choose_ceiling(samples, sample_rate, intervals)
    out = []
    for a, b in intervals:
        duration_ms = round(1000 * (b - a), 1)
        if b - a < MIN_VOWEL_S:
            out.append(VowelMeasures(duration_ms, None, None, ceiling_hz=ceiling_hz,
                                     reason=f"too short to measure ({duration_ms:g} ms; "
                                            f"{1000 * MIN_VOWEL_S:g} ms at least)"))
            continue
        sound = _sound(samples, sample_rate, a, b)
        formant = sound.to_formant_burg(time_step=_TIME_STEP_S, max_number_of_formants=5,
                                        maximum_formant=ceiling_hz)
        points = _formant_values(formant, np.array([a + p * (b - a) for p in POINTS]))
        track = _formant_values(formant, np.linspace(a, b, 11))[:, :, 0]
        pitch = sound.to_pitch_ac(time_step=0.01, pitch_floor=PITCH_FLOOR_HZ,
                                  pitch_ceiling=PITCH_CEILING_HZ)
        f0 = np.array([pitch.get_value_at_time(float(t))
                       for t in np.arange(a, b, 0.01) + 0.005])
        voiced = f0[np.isfinite(f0)]
        intensity = sound.to_intensity(minimum_pitch=100.0)
        level = np.array([intensity.get_value(float(t)) for t in np.linspace(a, b, 7)])
        level = level[np.isfinite(level)]
        out.append(VowelMeasures(
            duration_ms=duration_ms,
            f0_hz=round(float(np.median(voiced)), 1) if len(voiced) else None,
            intensity_db=round(float(np.mean(level)), 1) if len(level) else None,
            formants_hz={int(100 * p): _clean(points[i, :, 0]) for i, p in enumerate(POINTS)},
            bandwidths_hz={int(100 * p): _clean(points[i, :, 1]) for i, p in enumerate(POINTS)},
            track_hz=[_clean(row) for row in track],
            ceiling_hz=ceiling_hz,
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
