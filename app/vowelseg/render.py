"""Renderings of a reply (:class:`vowelseg.reply.Reply`): JSON, CSV, TextGrid, WAV,
PNG and vowel chart; :data:`OUTPUTS` names them for the API and the CLI alike.

Each takes the reply, or the :class:`~vowelseg.result.Segmentation` it is built
from (:func:`vowelseg.reply.build`; build it once to render several formats)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from praatio import textgrid

from vowelseg.audio.io import Audio, analysis_signal, write_wav
from vowelseg.phones import base_phone
from vowelseg.reply import Reply, build, to_dict
from vowelseg.result import Segmentation

WAV_MODES = ("concat", "mask")
DEFAULT_FADE_S = 0.005


@dataclass(frozen=True)
class Output:
    """How one rendering is named and served.

    Attributes
    ----------
    suffix : str
        Of the file the CLI writes for a recording (``name.suffix``).
    media_type : str
        Its HTTP content type.
    download : str or None
        The file name the API offers it under (None: shown, not downloaded).
    """

    suffix: str
    media_type: str
    download: str | None = None


#: Every rendering, by the API's ``output`` name.
OUTPUTS = {
    "json": Output(".json", "application/json"),
    "wav": Output(".vowels.wav", "audio/wav", "vowels.wav"),
    "textgrid": Output(".TextGrid", "text/plain; charset=utf-8", "vowels.TextGrid"),
    "png": Output(".png", "image/png"),
    "csv": Output(".csv", "text/csv; charset=utf-8", "vowels.csv"),
    "vowel-chart": Output(".chart.png", "image/png"),
}


def as_reply(seg: Reply | Segmentation) -> Reply:
    """``seg``'s reply (``seg`` itself when it is one)."""
    return seg if isinstance(seg, Reply) else build(seg)


def render(output: str, audio: Audio | None, seg: Reply | Segmentation, mode: str = "concat",
           fade_s: float = DEFAULT_FADE_S) -> str | bytes:
    """One rendering (a key of :data:`OUTPUTS`) of an alignment of ``audio``
    (needed for ``wav`` and ``png`` only); ``mode`` and ``fade_s`` are the
    vowel-only WAV's. JSON comes indented."""
    reply = as_reply(seg)
    if output == "json":
        return json.dumps(to_json(reply), indent=2) + "\n"
    if output == "wav":
        return to_wav(audio, reply, mode, fade_s)
    if output == "png":
        return to_png(audio, reply)
    return {"textgrid": to_textgrid, "csv": to_csv, "vowel-chart": to_vowel_chart}[output](reply)


def to_json(seg: Reply | Segmentation) -> dict:
    """The reply body of ``POST /segment`` with ``output=json``."""
    return to_dict(as_reply(seg))


#: Columns of :func:`to_csv`, one row per vowel (FAVE-extract's table, roughly).
CSV_COLUMNS = ("speaker", "word", "phone", "stress", "start", "end", "duration_ms", "f0_hz",
               "f1_hz", "f2_hz", "f3_hz", "b1_hz", "b2_hz", "b3_hz",
               *(f"f{k}_{p}_hz" for p in (20, 50, 80) for k in (1, 2, 3)),
               "f1_lobanov", "f2_lobanov", "intensity_db", "confidence", "ceiling_hz",
               "reason")


def vowel_rows(seg: Reply | Segmentation, speaker: str = "") -> list[dict]:
    """One dict per vowel with :data:`CSV_COLUMNS` (empty strings where nothing
    was measured).

    Raises
    ------
    ValueError
        If the vowels were not measured.
    """
    rows = []
    for v in as_reply(seg).vowels:
        m = v.measures
        if m is None:
            raise ValueError("a vowel table needs measured vowels (Options(measures=True))")
        mid_b = m.bandwidths_hz.get("50", (None, None, None))
        row = {"speaker": speaker, "word": v.word, "phone": base_phone(v.phone),
               "stress": v.phone[-1] if v.phone[-1].isdigit() else "", "start": v.start,
               "end": v.end, "duration_ms": m.duration_ms, "f0_hz": m.f0_hz,
               "f1_hz": m.f1_hz, "f2_hz": m.f2_hz, "f3_hz": m.f3_hz, "b1_hz": mid_b[0],
               "b2_hz": mid_b[1], "b3_hz": mid_b[2], "f1_lobanov": m.f1_lobanov,
               "f2_lobanov": m.f2_lobanov, "intensity_db": m.intensity_db,
               "confidence": v.confidence, "ceiling_hz": m.ceiling_hz, "reason": m.reason or ""}
        for point in ("20", "50", "80"):
            values = m.formants_hz.get(point, (None, None, None))
            for k in (1, 2, 3):
                row[f"f{k}_{point}_hz"] = values[k - 1]
        rows.append({k: "" if row[k] is None else row[k] for k in CSV_COLUMNS})
    return rows


def to_csv(seg: Reply | Segmentation, speaker: str = "", header: bool = True) -> str:
    """The vowels' measurements, one row per vowel (:data:`CSV_COLUMNS`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(vowel_rows(seg, speaker))
    return buffer.getvalue()


def to_vowel_chart(seg: Reply | Segmentation) -> bytes:
    """A vowel chart: F2 across, F1 down (both reversed, as phoneticians draw it),
    each token faint, each vowel's mean with a one-standard-deviation ellipse and
    its label."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    reply = as_reply(seg)
    points: dict[str, list[tuple[float, float]]] = {}
    for v in reply.vowels:
        if v.measures is None:
            raise ValueError("a vowel chart needs measured vowels (Options(measures=True))")
        f1, f2 = v.measures.f1_hz, v.measures.f2_hz
        if f1 is not None and f2 is not None:
            points.setdefault(base_phone(v.phone), []).append((f2, f1))
    fig = Figure(figsize=(7, 6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    colours = matplotlib.colormaps["tab10"]
    for i, (vowel, xy) in enumerate(sorted(points.items())):
        arr = np.array(xy)
        colour = colours(i % 10)
        ax.scatter(arr[:, 0], arr[:, 1], s=10, alpha=0.3, color=colour, linewidths=0)
        mean = arr.mean(axis=0)
        if len(arr) >= 3:
            sd = arr.std(axis=0)
            ax.add_patch(Ellipse(tuple(mean), 2 * sd[0], 2 * sd[1], fill=False, color=colour,
                                 linewidth=1.2))
        ax.text(mean[0], mean[1], vowel, ha="center", va="center", fontsize=11,
                fontweight="bold", color=colour)
    ax.invert_xaxis()
    ax.invert_yaxis()
    ax.xaxis.tick_top()
    ax.yaxis.tick_right()
    ax.xaxis.set_label_position("top")
    ax.yaxis.set_label_position("right")
    ax.set_xlabel("F2 (Hz)")
    ax.set_ylabel("F1 (Hz)")
    measured = sum(len(v) for v in points.values())
    fig.subplots_adjust(left=0.06, right=0.88, top=0.88, bottom=0.08)
    fig.text(0.47, 0.02, f"{measured} of {len(reply.vowels)} vowels measured (midpoints; "
                         "ellipses: one standard deviation)", ha="center", fontsize=9)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


TEXTGRID_TIERS = ("words", "phones", "vowels", "confidence")


def to_textgrid(seg: Reply | Segmentation, tiers: Sequence[str] = TEXTGRID_TIERS) -> str:
    """A Praat long-format TextGrid with ``tiers``, in that order, of
    ``words``, ``phones``, ``vowels`` and ``confidence`` (each found word's
    confidence, as its label); ``("words", "phones")`` is the Montreal Forced
    Aligner's layout."""
    reply = as_reply(seg)
    entries = {
        "words": [(w.start, w.end, w.word) for w in reply.words if w.found],
        "phones": [(p.start, p.end, p.phone) for p in reply.phones],
        "vowels": [(v.start, v.end, v.phone) for v in reply.vowels],
        "confidence": [(w.start, w.end, f"{w.confidence:.2f}") for w in reply.words if w.found],
    }
    grid = textgrid.Textgrid(0.0, reply.duration)
    for name in tiers:
        grid.addTier(textgrid.IntervalTier(name, entries[name], 0.0, reply.duration))
    with tempfile.TemporaryDirectory(prefix="vowelseg-tg-") as tmp:
        path = Path(tmp) / "out.TextGrid"
        grid.save(str(path), format="long_textgrid", includeBlankSpaces=True)
        return path.read_text()


def vowel_spans(seg: Reply | Segmentation, sample_rate: int,
                n_samples: int) -> list[tuple[int, int]]:
    """Vowel intervals as sample ranges ``[a, b)`` at ``sample_rate``, touching ones merged."""
    spans: list[tuple[int, int]] = []
    for p in as_reply(seg).vowels:
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


def vowel_samples(audio: Audio, seg: Reply | Segmentation, mode: str = "concat",
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


def to_wav(audio: Audio, seg: Reply | Segmentation, mode: str = "concat",
           fade_s: float = DEFAULT_FADE_S) -> bytes:
    """Vowel-only audio as WAV bytes (see :func:`vowel_samples`)."""
    return write_wav(audio, vowel_samples(audio, seg, mode, fade_s))


#: Figure layout of :func:`to_png`, in figure fractions: every panel spans
#: ``[PNG_LEFT, PNG_LEFT + PNG_WIDTH]`` horizontally and covers 0 s to the end.
PNG_SIZE_PX = (1200, 520)
PNG_LEFT, PNG_WIDTH = 0.06, 0.92
VOWEL_COLOUR = "#f08c00"


def png_x(time_s: float, duration_s: float, width_px: int = PNG_SIZE_PX[0]) -> float:
    """Pixel column of ``time_s`` in a picture made by :func:`to_png`."""
    return (PNG_LEFT + PNG_WIDTH * time_s / duration_s) * width_px


def envelope(signal: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and maximum of ``signal`` (a waveform drawn at any length)."""
    n = max(1, len(signal) // columns)
    usable = signal[: n * (len(signal) // n)].reshape(-1, n)
    return usable.min(axis=1), usable.max(axis=1)


def spectrogram_db(signal: np.ndarray, sample_rate: int, columns: int) -> np.ndarray:
    """Power spectrogram in dB (``(freq, time)``), at most ``columns`` frames."""
    n_fft = 512
    hop = max(sample_rate // 200, len(signal) // columns)
    if len(signal) < n_fft:
        signal = np.pad(signal, (0, n_fft - len(signal)))
    frames = np.lib.stride_tricks.sliding_window_view(signal, n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2
    db = 10 * np.log10(np.maximum(power, 1e-12))
    return np.maximum(db, db.max() - 80).T


def to_png(audio: Audio, seg: Reply | Segmentation) -> bytes:
    """A picture for looking before trusting: waveform and spectrogram with the
    vowel intervals shaded and labelled, the words underneath."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    reply = as_reply(seg)
    rate = 16000
    signal = analysis_signal(audio, rate)
    duration = reply.duration
    width, height = PNG_SIZE_PX
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    wave = fig.add_axes((PNG_LEFT, 0.66, PNG_WIDTH, 0.28))
    spec = fig.add_axes((PNG_LEFT, 0.20, PNG_WIDTH, 0.44), sharex=wave)
    text = fig.add_axes((PNG_LEFT, 0.04, PNG_WIDTH, 0.14), sharex=wave)
    lo, hi = envelope(signal, int(width * PNG_WIDTH))
    t = np.linspace(0, len(signal) / rate, len(lo))
    wave.fill_between(t, lo, hi, color="#1f3b73", linewidth=0)
    peak = max(1e-6, float(np.abs(signal).max()))
    wave.set_ylim(-1.1 * peak, 1.1 * peak)
    spec.imshow(spectrogram_db(signal, rate, 2 * width), origin="lower", aspect="auto",
                cmap="Greys", extent=(0, len(signal) / rate, 0, rate / 2))
    spec.set_ylabel("Hz")
    for v in reply.vowels:
        for ax in (wave, spec):
            ax.axvspan(v.start, v.end, color=VOWEL_COLOUR, alpha=0.45, linewidth=0)
        wave.text((v.start + v.end) / 2, 1.05 * peak, v.phone, ha="center", va="top",
                  fontsize=7, color="#6b3a00", clip_on=True)
    for w in (w for w in reply.words if w.found):
        text.axvline(w.start, color="#999999", linewidth=0.5)
        text.text((w.start + w.end) / 2, 0.5, w.word, ha="center", va="center", fontsize=8,
                  clip_on=True)
    text.set_ylim(0, 1)
    for ax in (wave, text):
        ax.set_yticks([])
    for ax in (wave, spec):
        ax.tick_params(labelbottom=False)
    text.set_xlabel("seconds")
    wave.set_xlim(0, duration)
    wave.set_title(f"{len(reply.vowels)} vowels (shaded), {len(reply.words)} words",
                   fontsize=9)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
