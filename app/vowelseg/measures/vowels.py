"""What a vowel measured, and measuring the vowels of one stretch of a
recording in this process. A vowel too short to measure, or with no voiced
frame, gets empty values and a reason, never a made-up number."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

import numpy as np

from vowelseg.measures.ceiling import (
    CEILINGS_HZ,
    DEFAULT_CEILING_HZ,
    MIN_VOWEL_S,
    RHOTIC,
    RHOTIC_CEILING_HZ,
    narrow_track,
)
from vowelseg.measures.praat import TRACK_POINTS, intensity_db, voiced_f0
from vowelseg.measures.resample import Stretch

#: Points where formants are reported besides the 11-point track.
POINTS = (0.2, 0.5, 0.8)


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


def _clean(values: np.ndarray) -> list:
    """Rows of ``values`` rounded to 0.1, with None for NaN: a list of tuples."""
    rounded = np.round(values, 1).astype(object)
    rounded[np.isnan(values)] = None
    return list(map(tuple, rounded.tolist()))


def measure_stretch(source: Stretch, intervals: list[tuple[float, float]], ceiling_hz: float,
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
        track, ceiling = narrow_track(source, chunks, a, b, ceiling, highest)
        voiced = voiced_f0(source, a, b)
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
