"""The Praat driver (praat-parselmouth): Burg formants at chosen times, the
autocorrelation pitch of a vowel, and its intensity."""

from __future__ import annotations

import numpy as np

from vowelseg.measures.resample import Stretch, resampled

#: Track points: 0, 10, ..., 100 % of each vowel.
TRACK_POINTS = 11
#: Pitch range searched, Hz (the floor is Praat's default: a lower one cost more
#: time for the same f0s, docs/experiments.md, Measures).
PITCH_FLOOR_HZ, PITCH_CEILING_HZ = 75.0, 500.0
#: Pitch frames in a long vowel, at least (see :func:`voiced_f0`).
PITCH_FRAMES = 6
#: Praat's formant analysis window (its Gaussian spans twice this), seconds.
_FORMANT_WINDOW_S = 0.025
_PITCH_STEP_S = 0.01
#: Audio resampled at a time for the formants, seconds.
_CHUNK_S = 30.0
#: Pitch (window 3 / floor = 40 ms) needs this much audio on each side of a
#: vowel, seconds.
_PITCH_PAD_S = 0.02


def formant_span(start_s: float, end_s: float, n_points: int) -> tuple[float, float, float]:
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
    step_s, a, b = formant_span(start_s, end_s, n_points)
    formant = audio.sound(a, b).to_formant_burg(
        time_step=step_s, max_number_of_formants=5, maximum_formant=ceiling_hz,
        window_length=_FORMANT_WINDOW_S)
    value, bandwidth = formant.get_value_at_time, formant.get_bandwidth_at_time
    times = [start_s + i * step_s for i in range(n_points)]
    return np.array([[(value(k, t), bandwidth(k, t)) for k in (1, 2, 3)] for t in times])


def vowel_track(source: Stretch, chunks: dict[float, Stretch] | None, start_s: float,
                end_s: float, ceiling_hz: float) -> np.ndarray:
    """:func:`formants_at_points` of one vowel, from the chunk of ``source``
    resampled for ``ceiling_hz`` (resampled :data:`_CHUNK_S` at a time: as fast
    as the whole at once, in a fraction of the memory; kept in ``chunks``), or
    with ``chunks`` None from the vowel's own span resampled (the same values:
    the samples do not depend on the stretch)."""
    _, first, last = formant_span(start_s, end_s, TRACK_POINTS)
    if chunks is None:
        return formants_at_points(resampled(source, 2.0 * ceiling_hz, first, last),
                                  start_s, end_s, ceiling_hz)
    chunk = chunks.get(ceiling_hz)
    if (chunk is None or first < chunk.start_s
            or last > chunk.start_s + len(chunk.samples) / chunk.rate):
        chunk = chunks[ceiling_hz] = resampled(source, 2.0 * ceiling_hz, first,
                                               max(last, first + _CHUNK_S))
    return formants_at_points(chunk, start_s, end_s, ceiling_hz)


def voiced_f0(audio: Stretch, start_s: float, end_s: float) -> np.ndarray:
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
