"""Vowel measurements side by side with a peer: FastTrack (fasttrackpy).

Every utterance of a TIMIT-format folder is aligned and measured by
:func:`vowelseg.pipeline.segment`; FastTrack is then run on the same vowel
intervals, the way its own ``process_audio_textgrid`` runs on a TextGrid (the
vowel and half a window each side; 20 ceilings from 4000 to 7000 Hz; a DCT
smoother of order 5; log-MSE loss over F1-F4; its six heuristics, as new-fave
runs it, unless told otherwise), and the two tools' midpoint F1-F3 are compared
token by token. Both read Praat's Burg formants: the comparison is of how the
ceiling is chosen, not of the analysis.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from vowelseg.training.corpus import Utterance, speaker_of

#: FastTrack's settings for adult voices (fasttrackpy's command-line defaults).
FASTTRACK = {"min_max_formant": 4000, "max_max_formant": 7000, "nstep": 20, "n_formants": 4,
             "window_length": 0.025, "time_step": 0.002, "pre_emphasis_from": 50,
             "pitch_floor": 75}
#: FastTrack needs this much vowel, seconds.
MIN_TOKEN_S = 0.05


@dataclass(frozen=True)
class Token:
    """One vowel measured by both tools."""

    utt_id: str
    speaker: str
    word: str
    phone: str
    start_s: float
    end_s: float
    ours_hz: tuple[float, float, float]
    theirs_hz: tuple[float, float, float]
    our_ceiling_hz: float
    their_ceiling_hz: float


def fasttrack_midpoint(samples: np.ndarray, sample_rate: int, start_s: float, end_s: float,
                       heuristics: bool = True) -> tuple[tuple[float, float, float], float]:
    """FastTrack's F1-F3 at the middle of one vowel (its winning track's Praat
    values, interpolated between its 2 ms frames), and its winning ceiling, Hz."""
    import parselmouth
    from fasttrackpy import (
        Agg,
        B2_Max,
        B3_Max,
        CandidateTracks,
        F1_Max,
        F3_F4_Sep,
        F4_Min,
        Loss,
        Rhotic,
        Smoother,
    )

    half = FASTTRACK["window_length"] / 2
    part = parselmouth.Sound(samples, sample_rate).extract_part(
        from_time=start_s - half, to_time=end_s + half, preserve_times=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracks = CandidateTracks(
            samples=part.values, sampling_frequency=part.sampling_frequency, xmin=part.xmin,
            smoother=Smoother(method="dct_smooth_regression", order=5),
            loss_fun=Loss(method="lmse"), agg_fun=Agg(method="agg_sum"),
            heuristics=[F1_Max, F4_Min, B2_Max, B3_Max, Rhotic, F3_F4_Sep] if heuristics else [],
            **FASTTRACK)
    winner = tracks.winner
    middle = 0.5 * (start_s + end_s)
    values = []
    for k in range(3):
        ok = np.isfinite(winner.formants[k])
        values.append(float(np.interp(middle, winner.time_domain[ok], winner.formants[k][ok]))
                      if ok.any() else np.nan)
    return (values[0], values[1], values[2]), float(winner.maximum_formant)


def compare(utterances: Sequence[Utterance], measure: Callable, heuristics: bool = True,
            say: Callable[[str], None] | None = None) -> list[Token]:
    """Both tools on every vowel of at least :data:`MIN_TOKEN_S` that vowelseg
    measured. ``measure(utterance)`` returns a Segmentation with measures."""
    tokens = []
    for i, utt in enumerate(utterances):
        seg = measure(utt)
        samples, rate = sf.read(utt.wav, dtype="float64", always_2d=True)
        samples = samples.mean(axis=1)
        for vowel, m in zip(seg.vowels, seg.measures, strict=True):
            ours = m.midpoint_hz
            if vowel.end - vowel.start < MIN_TOKEN_S or None in ours:
                continue
            theirs, ceiling = fasttrack_midpoint(samples, rate, vowel.start, vowel.end,
                                                 heuristics)
            tokens.append(Token(utt.utt_id, speaker_of(utt),
                                seg.words[vowel.word].word if vowel.word >= 0 else "",
                                vowel.phone, vowel.start, vowel.end, tuple(ours), theirs,
                                m.ceiling_hz, ceiling))
        if say and (i + 1) % 20 == 0:
            say(f"{i + 1}/{len(utterances)} utterances, {len(tokens)} tokens")
    return tokens


def agreement(tokens: Sequence[Token]) -> dict:
    """Pearson r and median absolute difference (% of ours) for F1-F3."""
    ours = np.array([t.ours_hz for t in tokens], dtype=float).reshape(-1, 3)
    theirs = np.array([t.theirs_hz for t in tokens], dtype=float).reshape(-1, 3)
    out = {"tokens": len(tokens)}
    for k in range(3):
        ok = np.isfinite(ours[:, k]) & np.isfinite(theirs[:, k])
        a, b = ours[ok, k], theirs[ok, k]
        out[f"r_f{k + 1}"] = float(np.corrcoef(a, b)[0, 1]) if ok.sum() > 2 else float("nan")
        out[f"median_pct_f{k + 1}"] = (float(np.median(np.abs(b - a) / a) * 100)
                                       if ok.any() else float("nan"))
        out[f"over_20pct_f{k + 1}"] = int((np.abs(b - a) / a > 0.2).sum())
    return out


def report(tokens: Sequence[Token], worst: int = 10) -> str:
    """The agreement overall and per speaker, and the largest disagreements."""
    def line(name: str, figures: dict) -> str:
        return (f"{name:<12} {figures['tokens']:>6} "
                + " ".join(f"{figures[f'r_f{k}']:>6.3f}" for k in (1, 2, 3))
                + " " + " ".join(f"{figures[f'median_pct_f{k}']:>7.1f}" for k in (1, 2, 3))
                + " " + " ".join(f"{figures[f'over_20pct_f{k}']:>6d}" for k in (1, 2, 3)))

    head = (f"{'':<12} {'tokens':>6} {'r F1':>6} {'r F2':>6} {'r F3':>6} {'%d F1':>7} "
            f"{'%d F2':>7} {'%d F3':>7} {'>20%F1':>6} {'>20%F2':>6} {'>20%F3':>6}")
    lines = [head, "-" * len(head), line("all", agreement(tokens))]
    for speaker in sorted({t.speaker for t in tokens}):
        lines.append(line(speaker, agreement([t for t in tokens if t.speaker == speaker])))
    lines.append("(%d = median |FastTrack - vowelseg| as % of vowelseg's value)")
    for k in (1, 2):
        lines += ["", f"largest F{k} disagreements (Hz; ceilings vowelseg / FastTrack):"]
        ranked = sorted(tokens, key=lambda t: -abs(t.ours_hz[k - 1] - t.theirs_hz[k - 1]))
        for t in ranked[:worst]:
            lines.append(
                f"  {t.utt_id:<16} {t.word[:14]:<14} {t.phone:<4} {t.start_s:6.3f}-{t.end_s:6.3f}"
                f"  vowelseg {'/'.join(f'{v:.0f}' for v in t.ours_hz):<15}"
                f" FastTrack {'/'.join(f'{v:.0f}' for v in t.theirs_hz):<15}"
                f" {t.our_ceiling_hz:.0f} / {t.their_ceiling_hz:.0f}")
    return "\n".join(lines)
