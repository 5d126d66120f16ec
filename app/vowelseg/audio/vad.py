"""Voice activity detection (webrtcvad): where the pauses are.

A pause is a stretch the VAD calls non-speech for at least
``min_pause_s``, shrunk by ``margin_s`` at each side that touches speech
(so weak word edges stay with the speech). The aligner places no phone
inside a pause.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

FRAME_CHOICES_S = (0.01, 0.02, 0.03)


def speech_frames(
    samples: np.ndarray, sample_rate: int = 16000, aggressiveness: int = 2, frame_s: float = 0.03
) -> np.ndarray:
    """webrtcvad's speech/non-speech decision for each frame.

    Parameters
    ----------
    samples : np.ndarray
        Mono float signal at ``sample_rate`` (8, 16, 32 or 48 kHz).
    aggressiveness : int
        0 (keeps most as speech) to 3 (calls most non-speech).
    frame_s : float
        0.01, 0.02 or 0.03 s.

    Returns
    -------
    np.ndarray
        Boolean, one per whole frame.
    """
    if aggressiveness not in (0, 1, 2, 3):
        raise ValueError("VAD aggressiveness must be 0, 1, 2 or 3")
    if frame_s not in FRAME_CHOICES_S:
        raise ValueError(f"VAD frame must be one of {FRAME_CHOICES_S} s")
    peak = max(float(samples.max()), -float(samples.min())) if len(samples) else 0.0
    scale = np.float32(0.9 * 32767 / peak if peak > 0 else 0.0)
    step = int(round(frame_s * sample_rate))
    vad = webrtcvad.Vad(aggressiveness)
    n = len(samples) // step
    out = np.empty(n, dtype=bool)
    per_block = 4096  # frames converted to 16-bit PCM at a time
    for first in range(0, n, per_block):
        last = min(n, first + per_block)
        block = np.asarray(samples[first * step:last * step], dtype=np.float32) * scale
        pcm = np.clip(np.round(block), -32768, 32767).astype("<i2")
        for i in range(last - first):
            out[first + i] = vad.is_speech(pcm[i * step:(i + 1) * step].tobytes(), sample_rate)
    return out


def drop_bursts(speech: np.ndarray, max_frames: int, quiet_frames: int) -> np.ndarray:
    """``speech`` with runs of at most ``max_frames`` speech frames turned to
    non-speech where at least ``quiet_frames`` of non-speech lie on both sides."""
    out = speech.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], speech.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        before = start - (np.flatnonzero(speech[:start])[-1] + 1 if speech[:start].any() else 0)
        after = (np.flatnonzero(speech[end:])[0] if speech[end:].any() else len(speech) - end)
        if end - start <= max_frames and before >= quiet_frames and after >= quiet_frames:
            out[start:end] = False
    return out


def find_pauses(
    samples: np.ndarray,
    sample_rate: int = 16000,
    aggressiveness: int = 2,
    frame_s: float = 0.03,
    min_pause_s: float = 0.2,
    margin_s: float = 0.03,
    min_speech_s: float = 0.1,
) -> list[tuple[float, float]]:
    """Pauses as ``(start_s, end_s)``, sorted and disjoint.

    A burst of speech frames shorter than ``min_speech_s`` with at least
    ``min_pause_s`` of non-speech on both sides is a click or a noise onset,
    not a word, and joins the pause. Runs of non-speech frames shorter than
    ``min_pause_s`` are treated as speech (stop closures, short gaps). A pause
    that touches speech is shrunk by ``margin_s`` on that side; one at a file
    edge keeps the edge.
    """
    speech = drop_bursts(speech_frames(samples, sample_rate, aggressiveness, frame_s),
                         round(min_speech_s / frame_s), round(min_pause_s / frame_s))
    duration_s = len(samples) / sample_rate
    pauses = []
    start = None
    for i, is_speech in enumerate(np.append(speech, True)):
        if not is_speech and start is None:
            start = i
        elif is_speech and start is not None:
            a, b = start * frame_s, i * frame_s
            if i == len(speech):
                b = duration_s
            if b - a >= min_pause_s:
                a = a + margin_s if start > 0 else 0.0
                b = b - margin_s if i < len(speech) else duration_s
                if b > a:
                    pauses.append((round(a, 6), round(b, 6)))
            start = None
    return pauses
