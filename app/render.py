"""Renderings of a :class:`~app.segments.Segmentation`: JSON, TextGrid, WAV."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from praatio import textgrid

from .audio import Audio, write_wav
from .segments import Segmentation

WAV_MODES = ("concat", "mask")
DEFAULT_FADE_S = 0.005


def to_json(seg: Segmentation) -> dict:
    """The reply body of ``POST /segment`` with ``output=json``."""
    return {
        "duration": seg.duration,
        "sample_rate": seg.sample_rate,
        "words": [
            {"word": w.word, "start": w.start, "end": w.end,
             "pronunciation": list(w.pronunciation), "source": w.source}
            for w in seg.words
        ],
        "phones": [
            {"phone": p.phone, "start": p.start, "end": p.end, "class": p.cls, "word": p.word}
            for p in seg.phones
        ],
        "vowels": [
            {"phone": p.phone, "start": p.start, "end": p.end, "word": seg.words[p.word].word}
            for p in seg.vowels
        ],
        "pauses": [{"start": a, "end": b} for a, b in seg.pauses],
    }


def to_textgrid(seg: Segmentation) -> str:
    """A Praat long-format TextGrid with tiers ``words``, ``phones``, ``vowels``."""
    tiers = {
        "words": [(w.start, w.end, w.word) for w in seg.words],
        "phones": [(p.start, p.end, p.phone) for p in seg.phones],
        "vowels": [(p.start, p.end, p.phone) for p in seg.vowels],
    }
    grid = textgrid.Textgrid(0.0, seg.duration)
    for name, entries in tiers.items():
        grid.addTier(textgrid.IntervalTier(name, entries, 0.0, seg.duration))
    with tempfile.TemporaryDirectory(prefix="vowelseg-tg-") as tmp:
        path = Path(tmp) / "out.TextGrid"
        grid.save(str(path), format="long_textgrid", includeBlankSpaces=True)
        return path.read_text()


def vowel_spans(seg: Segmentation, sample_rate: int, n_samples: int) -> list[tuple[int, int]]:
    """Vowel intervals as sample ranges ``[a, b)`` at ``sample_rate``, touching ones merged."""
    spans: list[tuple[int, int]] = []
    for p in seg.vowels:
        a = max(0, min(n_samples, int(round(p.start * sample_rate))))
        b = max(0, min(n_samples, int(round(p.end * sample_rate))))
        if b <= a:
            continue
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
        else:
            spans.append((a, b))
    return spans


def _ramp(samples: np.ndarray, rising: bool) -> np.ndarray:
    """``samples`` faded in (rising) or out with a raised-cosine, same dtype."""
    n = len(samples)
    if n == 0:
        return samples
    gain = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 1) / (n + 1))
    if not rising:
        gain = gain[::-1]
    faded = samples.astype(np.float64) * gain[:, None]
    if samples.dtype.kind == "i":
        faded = np.round(faded)
    return faded.astype(samples.dtype)


def vowel_samples(audio: Audio, seg: Segmentation, mode: str = "concat",
                  fade_s: float = DEFAULT_FADE_S) -> np.ndarray:
    """The input's vowel samples, untouched, in the input's type and rate.

    Parameters
    ----------
    mode : {"concat", "mask"}
        ``concat``: the vowels back to back. ``mask``: same length as the
        input with everything but the vowels set to zero.
    fade_s : float
        Length of the fade taken from the audio just *outside* each vowel
        (fade-in before, fade-out after), so cuts do not click while the
        vowel samples themselves stay bit-exact. 0 for no fade.
    """
    if mode not in WAV_MODES:
        raise ValueError(f"mode must be one of {WAV_MODES}")
    x = audio.samples
    n = len(x)
    fade = int(round(fade_s * audio.sample_rate))
    spans = vowel_spans(seg, audio.sample_rate, n)
    if mode == "mask":
        out = np.zeros_like(x)
        for a, b in spans:
            out[a:b] = x[a:b]
            out[max(0, a - fade):a] = _ramp(x[max(0, a - fade):a], rising=True)
            out[b:min(n, b + fade)] = _ramp(x[b:min(n, b + fade)], rising=False)
        return out
    pieces = []
    for a, b in spans:
        pieces += [_ramp(x[max(0, a - fade):a], rising=True), x[a:b],
                   _ramp(x[b:min(n, b + fade)], rising=False)]
    return np.concatenate(pieces) if pieces else np.zeros((0, x.shape[1]), dtype=x.dtype)


def to_wav(audio: Audio, seg: Segmentation, mode: str = "concat",
           fade_s: float = DEFAULT_FADE_S) -> bytes:
    """Vowel-only audio as WAV bytes (see :func:`vowel_samples`)."""
    return write_wav(audio, vowel_samples(audio, seg, mode, fade_s))
