"""``vowelseg-lab bench-input``: how the service treats bad input, row by row.

- recordings without speech (noise of three colours at four levels, dithered
  silence, tones, a chord, hum, clicks, music, noise bursts): each must be
  refused;
- the corpus's recordings, clean and changed (10 dB white or babble noise,
  -40 dBFS, band-limited to 8 kHz): none may be refused;
- ``exact`` transcripts: the utterance's own, another utterance's, and its own
  with the last third of the words dropped: the share warned
  ``transcript_mismatch`` (speaker-held-out when the model was fitted on the
  corpus);
- MP3s made by sox, ffmpeg and lame at 16 and 44.1 kHz: word times against
  the WAV's.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from vowelseg.audio.io import Audio
from vowelseg.errors import NoSpeechError, VowelsegError
from vowelseg.pipeline import Resources, segment

from vowelseg_lab.training import mix
from vowelseg_lab.training.corpus import TIMIT_RATE, Utterance, speaker_of

RATE = 16000


def level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """``x`` scaled to an RMS level of ``dbfs``, float32."""
    rms = float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2))) + 1e-20
    return (np.asarray(x) * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def coloured_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with power falling as ``1 / f ** exponent`` (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    return np.fft.irfft(spectrum / f ** (exponent / 2), n)


def no_speech(seconds: float = 3.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Recordings without speech, 16 kHz float32, by name."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    out = {}
    for name, exponent in (("white", 0), ("pink", 1), ("brown", 2)):
        for dbfs in (-10, -30, -50, -60):
            out[f"{name} noise {dbfs} dBFS"] = level(coloured_noise(n, exponent, rng), dbfs)
    out["dithered silence (+-1 LSB)"] = (rng.integers(-1, 2, n) / 32768).astype(np.float32)
    for f0 in (150, 440, 1000):
        out[f"tone {f0} Hz -20 dBFS"] = level(np.sin(2 * np.pi * f0 * t), -20)
    out["chord C-E-G -20 dBFS"] = level(sum(np.sin(2 * np.pi * f * t)
                                            for f in (261.6, 329.6, 392.0)), -20)
    out["mains hum 50 Hz + harmonics -30 dBFS"] = level(
        sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 8)), -30)
    out["hum 60 Hz -40 dBFS"] = level(sum(np.sin(2 * np.pi * 60 * k * t) / k
                                          for k in range(1, 6)), -40)
    clicks = np.zeros(n)
    clicks[::RATE // 10] = 1.0
    out["click train 10/s -20 dBFS"] = level(clicks + 1e-4 * rng.standard_normal(n), -20)
    music = np.zeros(n)
    for start in np.arange(0, seconds, 0.25):  # plucked harmonic notes, no voice
        f = 220 * 2 ** (int(rng.integers(0, 12)) / 12)
        a = int(start * RATE)
        m = min(n - a, RATE // 2)
        tt = np.arange(m) / RATE
        music[a:a + m] += sum(np.sin(2 * np.pi * f * h * tt) / h for h in range(1, 6)) \
            * np.exp(-6 * tt)
    out["music (plucked notes) -20 dBFS"] = level(music, -20)
    out["white noise bursts -20 dBFS"] = level(
        coloured_noise(n, 0, rng) * (np.sin(2 * np.pi * 0.5 * t) > 0), -20)
    return out


def speech_copies(utt: Utterance, corpus: Sequence[Utterance],
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One utterance clean and changed, 16 kHz float32, by condition."""
    y = sf.read(utt.wav, dtype="float32")[0]
    power = mix.speech_power(y, utt.phones, TIMIT_RATE)
    others = [u for u in corpus if speaker_of(u) != speaker_of(utt)]
    talkers = [sf.read(others[int(k)].wav, dtype="float32")[0]
               for k in rng.choice(len(others), 4, replace=False)]
    return {
        "clean": y,
        "white noise 10 dB": (y + mix.at_snr(mix.white(len(y), rng), power, 10.0)),
        "babble 10 dB": (y + mix.at_snr(mix.babble(talkers, len(y)), power, 10.0)),
        "-40 dBFS": level(y, -40),
        "8 kHz band": soxr.resample(soxr.resample(y, RATE, 8000), 8000, RATE),
    }


def refused(samples: np.ndarray, transcript: str, resources: Resources) -> str | None:
    """The refusal's message if :func:`segment` refuses the recording (as having
    no speech, or otherwise: then prefixed so), else None."""
    audio = Audio(np.asarray(samples, dtype=np.float32)[:, None], RATE, "WAV", "FLOAT")
    try:
        segment(audio, transcript, resources)
    except NoSpeechError as exc:
        return exc.message
    except VowelsegError as exc:
        return f"refused otherwise: {exc.message}"
    return None


def mismatch_rates(test: Sequence[Utterance], corpus: Sequence[Utterance],
                   resources: Resources) -> dict[str, list[bool]]:
    """Per transcript kind, whether each ``exact`` reply warned ``transcript_mismatch``."""
    out: dict[str, list[bool]] = {"own transcript": [], "another utterance's": [],
                                  "last third of the words dropped": []}
    for utt in test:
        i = list(corpus).index(utt)
        words = utt.text.split()
        texts = {"own transcript": utt.text,
                 "another utterance's": corpus[(i + 37) % len(corpus)].text,
                 "last third of the words dropped": " ".join(words[:len(words) - len(words) // 3])}
        for kind, text in texts.items():
            seg = segment(utt.wav, text, resources)
            out[kind].append(any(w.code == "transcript_mismatch" for w in seg.warnings))
    return out


MP3_TOOLS = {
    "sox": lambda src, out: ["sox", str(src), str(out)],
    "ffmpeg": lambda src, out: ["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), str(out)],
    "lame": lambda src, out: ["lame", "--quiet", str(src), str(out)],
}


def mp3_differences(utterances: Sequence[Utterance], resources: Resources,
                    tools: Sequence[str] = tuple(MP3_TOOLS)) -> dict[str, np.ndarray]:
    """Per ``tool rate``, the word start and end times of each MP3's reply minus
    the WAV's, seconds (tools not installed are left out)."""
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="vowelseg-mp3-") as tmp:
        for utt in utterances:
            ref = segment(utt.wav, utt.text, resources)
            y = sf.read(utt.wav, dtype="float32")[0]
            sources = {16000: Path(tmp) / "16.wav", 44100: Path(tmp) / "44.wav"}
            sf.write(sources[16000], y, 16000, subtype="PCM_16")
            sf.write(sources[44100], soxr.resample(y, 16000, 44100), 44100, subtype="PCM_16")
            for tool in tools:
                if shutil.which(tool) is None:
                    continue
                for rate, src in sources.items():
                    mp3 = Path(tmp) / f"{tool}{rate}.mp3"
                    subprocess.run(MP3_TOOLS[tool](src, mp3), check=True, capture_output=True)
                    seg = segment(mp3, utt.text, resources)
                    out.setdefault(f"{tool} {rate / 1000:g} kHz", []).extend(
                        t - r for w, rw in zip(seg.words, ref.words, strict=True)
                        for t, r in ((w.start, rw.start), (w.end, rw.end)))
    return {k: np.array(v) for k, v in out.items()}


def format_rows(rows: list[tuple[str, str]]) -> str:
    """Two columns, the first padded."""
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"{a:<{width}}  {b}" for a, b in rows)


def run(corpus: Sequence[Utterance], resources: Resources,
        mismatch: Callable[[], dict[str, list[bool]]], say: Callable[[str], None] = print,
        mp3_utterances: int = 10) -> dict:
    """Every part, printed through ``say`` as it finishes; returns the figures."""
    figures: dict = {}
    rows = []
    for name, samples in no_speech().items():
        why = refused(samples, "she had your dark suit", resources)
        heard = why.split(": it sounds like ")[-1].split(". Send")[0] if why else ""
        rows.append((name, f"422, heard {heard}" if why else "ALIGNED"))
    figures["no_speech_refused"] = sum(r[1].startswith("422") for r in rows)
    say(f"recordings without speech, refused: {figures['no_speech_refused']}/{len(rows)}")
    say(format_rows(rows))
    rng = np.random.default_rng(0)
    counts: dict[str, list[int]] = {}
    for utt in corpus:
        for condition, samples in speech_copies(utt, corpus, rng).items():
            counts.setdefault(condition, [0, 0])
            counts[condition][0] += refused(samples, utt.text, resources) is not None
            counts[condition][1] += 1
    figures["speech_refused"] = {k: v[0] for k, v in counts.items()}
    say("\nrecordings with speech, refused:")
    say(format_rows([(k, f"{v[0]}/{v[1]}") for k, v in counts.items()]))
    rates = mismatch()
    figures["transcript_mismatch_warned"] = {k: float(np.mean(v)) for k, v in rates.items()}
    say("\nexact transcripts warned transcript_mismatch:")
    say(format_rows([(k, f"{sum(v)}/{len(v)} ({100 * np.mean(v):.1f} %)")
                     for k, v in rates.items()]))
    diffs = mp3_differences(list(corpus)[::max(1, len(corpus) // mp3_utterances)], resources)
    figures["mp3_ms"] = {}
    say("\nMP3 word times minus the WAV's (ms): mean, median |d|, share within 5 ms")
    for name, d in diffs.items():
        ms = 1000 * d
        figures["mp3_ms"][name] = {"mean": float(ms.mean()),
                                   "median_abs": float(np.median(np.abs(ms))),
                                   "within_5ms": float(np.mean(np.abs(ms) <= 5))}
        say(f"{name:<16} {ms.mean():+6.2f}  {np.median(np.abs(ms)):5.2f}  "
            f"{np.mean(np.abs(ms) <= 5):.3f}")
    return figures
