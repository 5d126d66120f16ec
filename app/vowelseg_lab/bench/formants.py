"""Vowel measurements side by side with a peer on the same intervals.

Every utterance of a TIMIT-format folder is aligned and measured by
:func:`vowelseg.pipeline.segment`; a peer then measures the same vowel
intervals, and the two tools' midpoint F1-F3 are compared token by token. Both
peers read Praat's Burg formants, so the comparison is of how the ceiling is
chosen, not of the analysis.

- FastTrack (fasttrackpy), run the way its own ``process_audio_textgrid`` runs
  on a TextGrid: the vowel and half a window each side; 20 ceilings from 4000
  to 7000 Hz; a DCT smoother of order 5; log-MSE loss over F1-F4; its six
  heuristics, as new-fave runs it, unless told otherwise.
- new-fave (FAVE's successor, FastTrack inside plus its per-speaker
  optimisation of the candidate tracks): its ``fave-extract`` command run on the
  recordings and MFA-layout TextGrids of vowelseg's alignment, one folder per
  speaker. new-fave pins numpy below 2.3, so it lives in its own environment and
  is given by the path of its ``fave-extract``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from vowelseg.render import to_textgrid
from vowelseg.result import Segmentation

from vowelseg_lab.training.corpus import Utterance, speaker_of

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


#: Per vowel of each utterance: the peer's midpoint F1-F3 and its ceiling, Hz
#: (None where it measured no value).
PeerValues = list[list[tuple[tuple[float, float, float], float] | None]]
Peer = Callable[[Sequence[Utterance], Sequence[Segmentation]], PeerValues]


def fasttrack(heuristics: bool = True) -> Peer:
    """FastTrack on each vowel of at least :data:`MIN_TOKEN_S`, one at a time."""
    def peer(utterances: Sequence[Utterance], segs: Sequence[Segmentation]) -> PeerValues:
        out = []
        for utt, seg in zip(utterances, segs, strict=True):
            samples, rate = sf.read(utt.wav, dtype="float64", always_2d=True)
            samples = samples.mean(axis=1)
            out.append([fasttrack_midpoint(samples, rate, v.start, v.end, heuristics)
                        if v.end - v.start >= MIN_TOKEN_S else None for v in seg.vowels])
        return out
    return peer


def _track_midpoints(tracks_csv: Path) -> list[tuple[float, float, tuple[float, float, float],
                                                     float]]:
    """new-fave's tracks file: per vowel, its start and duration (s), the
    winning track's Praat F1-F3 interpolated at its middle, and the track's
    ceiling (Hz)."""
    vowels: dict[str, list[dict]] = {}
    with open(tracks_csv, newline="") as f:
        for row in csv.DictReader(f):
            vowels.setdefault(row["id"], []).append(row)
    def number(text: str) -> float:
        try:
            return float(text)
        except ValueError:  # an empty cell or NA: no formant in that frame
            return float("nan")

    out = []
    for rows in vowels.values():
        times = np.array([float(r["time"]) for r in rows])
        order = np.argsort(times)
        # rel_time is the time since the vowel's start
        start_s, dur_s = float(rows[0]["time"]) - float(rows[0]["rel_time"]), float(rows[0]["dur"])
        values = []
        for k in (1, 2, 3):
            track = np.array([number(rows[i][f"F{k}"]) for i in order])
            ok = np.isfinite(track)  # as fasttrack_midpoint: between the frames that have one
            values.append(float(np.interp(start_s + dur_s / 2, times[order][ok], track[ok]))
                          if ok.any() else float("nan"))
        out.append((start_s, dur_s, (values[0], values[1], values[2]),
                    float(rows[0]["max_formant"])))
    return out


def new_fave(fave_extract: Path) -> Peer:
    """new-fave's ``fave-extract subcorpora`` on vowelseg's alignments, one
    folder per speaker (its optimisation fits each speaker's vowels together)."""
    def peer(utterances: Sequence[Utterance], segs: Sequence[Segmentation]) -> PeerValues:
        with tempfile.TemporaryDirectory(prefix="vowelseg-new-fave-") as tmp:
            root = Path(tmp)
            names = []
            for utt, seg in zip(utterances, segs, strict=True):
                folder = root / "in" / speaker_of(utt)
                folder.mkdir(parents=True, exist_ok=True)
                name = utt.utt_id.replace("/", "_")
                os.symlink(Path(utt.wav).resolve(), folder / f"{name}.wav")
                # words and phones only: the layout new-fave reads (one speaker)
                (folder / f"{name}.TextGrid").write_text(
                    to_textgrid(seg, tiers=("words", "phones")))
                names.append(name)
            command = [str(fave_extract), "subcorpora",
                       *sorted(str(p) for p in (root / "in").iterdir()),
                       "--destination", str(root / "out"), "--which", "tracks"]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{fave_extract} failed ({done.returncode}): "
                                   + done.stderr.strip()[-2000:])
            if not any((root / "out" / f"{name}_tracks.csv").exists() for name in names):
                raise RuntimeError(f"{fave_extract} wrote no tracks file into "
                                   f"{root / 'out'}: " + done.stdout.strip()[-1000:])
            out = []
            for name, seg in zip(names, segs, strict=True):
                tracks = root / "out" / f"{name}_tracks.csv"
                found = _track_midpoints(tracks) if tracks.exists() else []
                values: list = []
                for v in seg.vowels:
                    match = [(vals, ceiling) for start_s, dur_s, vals, ceiling in found
                             if abs(start_s - v.start) < 0.002
                             and abs(dur_s - (v.end - v.start)) < 0.002]
                    values.append(match[0] if match else None)
                out.append(values)
        return out
    return peer


def compare(utterances: Sequence[Utterance], measure: Callable[[Utterance], Segmentation],
            peer: Peer, say: Callable[[str], None] | None = None) -> list[Token]:
    """Both tools on every vowel of at least :data:`MIN_TOKEN_S` that vowelseg
    and the peer measured. ``measure(utterance)`` returns a Segmentation with
    measures."""
    segs = []
    for i, utt in enumerate(utterances):
        segs.append(measure(utt))
        if say and (i + 1) % 20 == 0:
            say(f"{i + 1}/{len(utterances)} utterances aligned and measured")
    tokens, unmatched = [], 0
    for utt, seg, theirs in zip(utterances, segs, peer(utterances, segs), strict=True):
        for vowel, m, peer_values in zip(seg.vowels, seg.measures, theirs, strict=True):
            ours = m.midpoint_hz
            if vowel.end - vowel.start < MIN_TOKEN_S or None in ours:
                continue
            if peer_values is None:
                unmatched += 1
                continue
            tokens.append(Token(utt.utt_id, speaker_of(utt),
                                seg.words[vowel.word].word if vowel.word >= 0 else "",
                                vowel.phone, vowel.start, vowel.end, tuple(ours),
                                peer_values[0], m.ceiling_hz, peer_values[1]))
    if say:
        say(f"{len(tokens)} vowels measured by both; {unmatched} of vowelseg's without a "
            "value from the peer")
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


def report(tokens: Sequence[Token], peer_name: str = "FastTrack", worst: int = 10) -> str:
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
    lines.append(f"(%d = median |{peer_name} - vowelseg| as % of vowelseg's value)")
    for k in (1, 2):
        lines += ["", f"largest F{k} disagreements (Hz; ceilings vowelseg / {peer_name}):"]
        ranked = sorted(tokens, key=lambda t: -abs(t.ours_hz[k - 1] - t.theirs_hz[k - 1]))
        for t in ranked[:worst]:
            lines.append(
                f"  {t.utt_id:<16} {t.word[:14]:<14} {t.phone:<4} {t.start_s:6.3f}-{t.end_s:6.3f}"
                f"  vowelseg {'/'.join(f'{v:.0f}' for v in t.ours_hz):<15}"
                f" {peer_name} {'/'.join(f'{v:.0f}' for v in t.theirs_hz):<15}"
                f" {t.our_ceiling_hz:.0f} / {t.their_ceiling_hz:.0f}")
    return "\n".join(lines)
