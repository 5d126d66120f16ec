"""Exactly-labelled synthetic speech from espeak-ng and MBROLA.

espeak-ng turns text into an MBROLA ``.pho`` file (one phone a line with
its duration in ms); the ``mbrola`` program renders it. The ``.pho``
durations are the phone boundaries of the audio, exactly. Used by the
training recipe and by the tests; needs Debian's ``espeak-ng``,
``mbrola`` and ``mbrola-us1`` (``us2``, ``us3``, ``en1``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

VOICES: tuple[str, ...] = ("us1", "us2", "us3", "en1")
MBROLA_DIR = Path("/usr/share/mbrola")

#: MBROLA voice symbols (SAMPA, US and British) to ARPAbet; "" is silence.
#: ``?`` (glottal stop) is merged into the phone before it, as TIMIT's ``q``.
SAMPA_TO_ARPABET: dict[str, str] = {
    "_": "SIL",
    # vowels
    "i": "IY", "i:": "IY", "I": "IH", "E": "EH", "e": "EH", "{": "AE",
    "A": "AA", "A:": "AA", "Q": "AA", "O": "AO", "O:": "AO", "O2": "AO", "O~": "AO", "U": "UH",
    "u": "UW", "u:": "UW", "V": "AH", "@": "AH", "r=": "ER", "3:": "ER",
    "3`": "ER", "@`": "ER", "EI": "EY", "eI": "EY", "AI": "AY", "aI": "AY",
    "OI": "OY", "aU": "AW", "@U": "OW", "oU": "OW", "I@": "IH", "e@": "EH",
    "U@": "UH", "o": "OW", "o:": "OW", "a": "AA", "a:": "AA", "e:": "EY",
    # consonants
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G",
    "p_h": "P", "t_h": "T", "k_h": "K", "4": "T", "tS": "CH", "dZ": "JH",
    "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z",
    "S": "SH", "Z": "ZH", "h": "HH", "m": "M", "n": "N", "N": "NG",
    "m=": "M", "n=": "N", "l": "L", "l=": "L", "l/": "L", "5": "L", "r": "R",
    "w": "W", "j": "Y",
}


@dataclass(frozen=True)
class LabelledSpeech:
    """Synthetic speech with exact phone times.

    Attributes
    ----------
    samples : np.ndarray
        Mono float32 signal.
    sample_rate : int
        Hz.
    phones : list of (str, float, float)
        ``(arpabet_phone, start_s, end_s)``; ``"SIL"`` for pauses.
    voice : str
        MBROLA voice name.
    """

    samples: np.ndarray
    sample_rate: int
    phones: list[tuple[str, float, float]]
    voice: str


def available_voices() -> list[str]:
    """The MBROLA voices installed on this machine (with espeak-ng)."""
    if not (shutil.which("espeak-ng") and shutil.which("mbrola")):
        return []
    return [v for v in VOICES if (MBROLA_DIR / v / v).exists()]


def parse_pho(text: str) -> list[tuple[str, float]]:
    """``(symbol, duration_s)`` rows of an MBROLA ``.pho`` text."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith(";"):
            rows.append((parts[0], float(parts[1]) / 1000.0))
    return rows


def pho_to_arpabet(rows: list[tuple[str, float]]) -> list[tuple[str, float, float]]:
    """Timed ARPAbet phones from ``.pho`` rows, pauses merged.

    Raises
    ------
    KeyError
        For a symbol missing from :data:`SAMPA_TO_ARPABET`.
    """
    out: list[list] = []
    t = 0.0
    for symbol, dur in rows:
        start, t = t, t + dur
        if symbol == "?" and out:
            out[-1][2] = t
            continue
        phone = SAMPA_TO_ARPABET["_" if symbol == "?" else symbol]
        if out and phone == "SIL" and out[-1][0] == "SIL":
            out[-1][2] = t
        else:
            out.append([phone, start, t])
    return [(p, s, e) for p, s, e in out if e > s]


def synthesize(
    text: str, voice: str = "us1", rate_wpm: int = 160, pitch: int = 50
) -> LabelledSpeech:
    """Speak ``text`` with an MBROLA voice and return audio with its labels.

    Parameters
    ----------
    text : str
        English text.
    voice : str
        One of :data:`VOICES`.
    rate_wpm : int
        espeak-ng speaking rate, words per minute.
    pitch : int
        espeak-ng pitch, 0-99.
    """
    with tempfile.TemporaryDirectory(prefix="vowelseg-synth-") as tmp:
        pho = Path(tmp) / "u.pho"
        wav = Path(tmp) / "u.wav"
        pho_text = _pho(text, voice, rate_wpm, pitch)
        pho.write_text(pho_text)
        subprocess.run(["mbrola", "-e", str(MBROLA_DIR / voice / voice), str(pho), str(wav)],
                       check=True, capture_output=True)
        samples, rate = sf.read(wav, dtype="float32")
    phones = pho_to_arpabet(parse_pho(pho_text))
    end = len(samples) / rate
    phones = [(p, s, min(e, end)) for p, s, e in phones if s < end]
    return LabelledSpeech(samples=samples, sample_rate=rate, phones=phones, voice=voice)


def _pho(text: str, voice: str, rate_wpm: int, pitch: int) -> str:
    """espeak-ng's MBROLA ``.pho`` text for ``text``."""
    cmd = ["espeak-ng", "-q", "--pho", "-v", f"mb-{voice}", "-s", str(rate_wpm),
           "-p", str(pitch), text]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def word_spans(speech: LabelledSpeech, words: list[str], rate_wpm: int = 160,
               pitch: int = 50) -> list[tuple[str, float, float]] | None:
    """Each word's ``(word, start_s, end_s)`` in ``speech`` (spoken as
    ``" ".join(words)`` with these settings), or None where it cannot be told.

    The ``.pho`` file has no word marks, so the phones of every prefix of the
    sentence are counted: the sentence's phones up to that count belong to the
    prefix. espeak-ng may give a prefix's last word its sentence-final form (a
    full vowel for a weak one), so one differing phone per prefix is allowed;
    more (a linking sound, a changed phone count) and the sentence is refused.
    """
    spoken = [p for p in speech.phones if p[0] != "SIL"]
    labels = [p for p, _, _ in spoken]
    cuts = [0]
    for k in range(1, len(words) + 1):
        prefix = [p for p, _, _ in pho_to_arpabet(parse_pho(
            _pho(" ".join(words[:k]), speech.voice, rate_wpm, pitch))) if p != "SIL"]
        differ = sum(a != b for a, b in zip(prefix, labels[:len(prefix)], strict=False))
        if len(prefix) <= cuts[-1] or len(prefix) > len(labels) or differ > 1:
            return None
        cuts.append(len(prefix))
    if cuts[-1] != len(labels):
        return None
    return [(w, spoken[a][1], spoken[b - 1][2])
            for w, a, b in zip(words, cuts[:-1], cuts[1:], strict=True)]
