"""Robustness benchmark: the accuracy measure under the things real input does.

Each condition changes every timit-dev utterance in one way (a transcript word
dropped or added, noise, babble, telephone band, studio rates, long silence and
noise around it), aligns it through :func:`vowelseg.pipeline.segment`, and scores it
against the hand labels with :class:`vowelseg_lab.bench.metrics.Tally`. Changes are seeded, so
a run is repeatable. The transcript conditions are aligned as a user who knows
the transcript may not match would ask (``transcript_match=approximate``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import soxr
from vowelseg.align.graph import TOLERANT, Mismatch
from vowelseg.audio.io import Audio
from vowelseg.options import Options
from vowelseg.pipeline import Resources, segment
from vowelseg.result import LOW_CONFIDENCE, Segmentation, WordInterval

from vowelseg_lab.bench import metrics as bench
from vowelseg_lab.bench.long import cut
from vowelseg_lab.bench.metrics import Tally
from vowelseg_lab.training import mix
from vowelseg_lab.training.corpus import TIMIT_RATE, Utterance, speaker_of

if TYPE_CHECKING:  # the recipe needs the [train] extra; the conditions do not
    from vowelseg_lab.training.recipe import AdaptConfig

FILLERS = ("very", "really", "just", "actually", "quite", "still", "maybe", "then")
PAD_S = 10.0


@dataclass
class Case:
    """One changed utterance: what to send and how to score the reply."""

    samples: np.ndarray  # (n, channels) float32
    sample_rate: int
    transcript: str
    offset_s: float = 0.0  # where the original utterance starts in ``samples``
    ignore: tuple[float, float] | None = None  # reference span not scored
    altered: str | None = None  # "deleted", "inserted" or "none" (a control: nothing changed)
    altered_index: int = -1  # transcript word index (inserted) / reference word (deleted)


@dataclass
class Outcome:
    """Pooled scores of one condition."""

    tally: Tally = field(default_factory=Tally)
    altered: int = 0
    flagged: int = 0
    phones_in_padding: int = 0

    def merge(self, other: Outcome) -> None:
        """Pool another outcome of the same condition into this one."""
        self.tally.merge(other.tally)
        self.altered += other.altered
        self.flagged += other.flagged
        self.phones_in_padding += other.phones_in_padding


def speech_power(samples: np.ndarray, utt: Utterance) -> float:
    """Mean power of the utterance's speech (its non-pause reference phones)."""
    return mix.speech_power(samples, utt.phones, TIMIT_RATE)


def load(utt: Utterance) -> np.ndarray:
    """The utterance as float32 mono at 16 kHz."""
    return sf.read(utt.wav, dtype="float32")[0]


def conditions(corpus: Sequence[Utterance]) -> dict[str, Callable[[Utterance, np.random.Generator],
                                                                  Case]]:
    """Named changes; each maps an utterance (and a seeded generator) to a case."""
    def mono(y: np.ndarray) -> np.ndarray:
        return y[:, None]

    def clean(u, rng):
        return Case(mono(load(u)), TIMIT_RATE, u.text)

    def deleted(u, rng):
        k = int(rng.integers(len(u.words)))
        spoken = [w for w, _, _ in u.words]
        text = " ".join(spoken[:k] + spoken[k + 1:])
        return Case(mono(load(u)), TIMIT_RATE, text, ignore=(u.words[k][1], u.words[k][2]),
                    altered="deleted", altered_index=k)

    def inserted(u, rng):
        spoken = [w for w, _, _ in u.words]
        k = int(rng.integers(len(spoken) + 1))
        text = " ".join(spoken[:k] + [str(rng.choice(FILLERS))] + spoken[k:])
        return Case(mono(load(u)), TIMIT_RATE, text, altered="inserted", altered_index=k)

    def unchanged(u, rng):  # the control: every word flagged here is a false alarm
        return Case(mono(load(u)), TIMIT_RATE, u.text, altered="none")

    def white(snr_db):
        def make(u, rng):
            y = load(u)
            noise = mix.at_snr(mix.white(len(y), rng), speech_power(y, u), snr_db)
            return Case(mono((y + noise).astype(np.float32)), TIMIT_RATE, u.text)
        return make

    def babbled(snr_db):
        def make(u, rng):
            y = load(u)
            others = [o for o in corpus if speaker_of(o) != speaker_of(u)]
            picked = rng.choice(len(others), size=4, replace=False)
            talkers = mix.babble([load(others[int(i)]) for i in picked], len(y))
            noise = mix.at_snr(talkers, speech_power(y, u), snr_db)
            return Case(mono((y + noise).astype(np.float32)), TIMIT_RATE, u.text)
        return make

    def resampled(rate, channels):
        def make(u, rng):
            y = soxr.resample(load(u), TIMIT_RATE, rate, quality="HQ").astype(np.float32)
            stereo = np.stack([y, 0.8 * y], axis=1) if channels == 2 else y[:, None]
            return Case(stereo, rate, u.text)
        return make

    def padded(u, rng):
        y = load(u)
        n = int(PAD_S * TIMIT_RATE)
        noise = mix.at_snr(mix.white(n, rng), speech_power(y, u), 30.0).astype(np.float32)
        silence = np.zeros(n, dtype=np.float32)
        full = np.concatenate([silence, noise, y, noise, silence])
        return Case(mono(full), TIMIT_RATE, u.text, offset_s=2 * PAD_S)

    return {
        "clean": clean,
        "one word deleted": deleted,
        "one word inserted": inserted,
        "nothing changed (false flags)": unchanged,
        "white noise 20 dB": white(20.0),
        "white noise 10 dB": white(10.0),
        "babble 20 dB": babbled(20.0),
        "babble 10 dB": babbled(10.0),
        "8 kHz": resampled(8000, 1),
        "44.1 kHz stereo": resampled(44100, 2),
        "48 kHz stereo": resampled(48000, 2),
        "10 s silence + 10 s noise around": padded,
    }


def flagged(case: Case, seg: Segmentation) -> bool:
    """Did the reply mark the altered word? An inserted (unspoken) transcript word
    must come back ``found: false`` or below :data:`LOW_CONFIDENCE`; where a
    deleted (spoken, untranscribed) word was, the reply must report untranscribed
    speech or a word below :data:`LOW_CONFIDENCE`."""
    if case.altered == "inserted":
        return doubtful(seg.words[case.altered_index])
    span = case.ignore
    return (any(overlaps(span, u) for u in seg.untranscribed)
            or any(overlaps(span, (w.start, w.end)) and doubtful(w)
                   for w in seg.words if w.found))


def word_flagged(word: WordInterval, seg: Segmentation) -> bool:
    """Does the reply doubt this word: not found, below :data:`LOW_CONFIDENCE`,
    or overlapping untranscribed speech?"""
    return doubtful(word) or any(overlaps((word.start, word.end), u) for u in seg.untranscribed)


def doubtful(word: WordInterval) -> bool:
    """Not found, or found below :data:`LOW_CONFIDENCE`."""
    return not word.found or word.confidence < LOW_CONFIDENCE


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Do two time spans share more than an instant?"""
    return min(a[1], b[1]) - max(a[0], b[0]) > 0


def score(utt: Utterance, case: Case, seg: Segmentation | None, out: Outcome) -> None:
    """Add one reply to a condition's outcome."""
    if seg is not None and case.offset_s:
        inside = case.offset_s, case.offset_s + utt.duration
        out.phones_in_padding += sum(1 for p in seg.phones
                                     if p.end <= inside[0] or p.start >= inside[1])
        seg = cut(seg, *inside)
    if seg is not None and case.altered == "none":
        out.altered += len(seg.words)
        out.flagged += sum(word_flagged(w, seg) for w in seg.words)
    elif seg is not None and case.altered:
        out.altered += 1
        out.flagged += flagged(case, seg)
        if case.altered == "inserted":  # score the words that were spoken
            seg = without_word(seg, case.altered_index)
    out.tally.add(utt, seg, case.ignore)


def without_word(seg: Segmentation, index: int) -> Segmentation:
    """``seg`` minus one transcript word (and its phones), others renumbered."""
    phones = [dataclasses.replace(p, word=p.word - (p.word > index))
              for p in seg.phones if p.word != index]
    words = [w for i, w in enumerate(seg.words) if i != index]
    return dataclasses.replace(seg, words=words, phones=phones)


def run(corpus: Sequence[Utterance], resources: Resources, options: Options | None = None,
        only: Sequence[str] | None = None, seed: int = 0,
        progress: Callable[[str], None] | None = None,
        sources: Sequence[Utterance] | None = None,
        mismatch: Mismatch = TOLERANT) -> dict[str, Outcome]:
    """Every condition over the corpus (babble talkers drawn from ``sources``,
    by default the corpus itself); the transcript conditions are aligned with
    ``mismatch`` (what ``transcript_match=approximate`` uses by default)."""
    options = options or Options()
    tolerant = options.model_copy(update={"transcript_match": "approximate",
                                          "mismatch_costs": mismatch})
    results = {}
    for name, make in conditions(sources or corpus).items():
        if only and name not in only:
            continue
        rng = np.random.default_rng(seed)
        out = Outcome()
        for utt in corpus:
            case = make(utt, rng)
            audio = Audio(case.samples, case.sample_rate, "WAV", "FLOAT")
            chosen = tolerant if case.altered else options  # transcript_match=approximate
            try:
                seg = segment(audio, case.transcript, resources, chosen)
            except Exception as exc:  # a failure is a result: counted in the table
                seg = None
                out.tally.failures.append((utt.utt_id, f"{type(exc).__name__}: {exc}"))
            score(utt, case, seg, out)
        results[name] = out
        if progress:
            progress(f"{name}: done")
    return results


def run_heldout(corpus: Sequence[Utterance], prior_path: Path, config: AdaptConfig,
                options: Options | None = None, only: Sequence[str] | None = None,
                seed: int = 0, workers: int = 2,
                progress: Callable[[str], None] | None = None,
                mismatch: Mismatch = TOLERANT) -> dict[str, Outcome]:
    """Every condition, speaker-held-out: each speaker's utterances are changed
    and aligned by a model fitted (as its recipe does) on the other speakers
    only, so no test utterance, clean or noisy, was seen in training."""
    evaluate = functools.partial(_round, options=options, only=only, seed=seed,
                                 mismatch=mismatch)
    results: dict[str, Outcome] = {}
    for speaker, outcomes in bench.heldout_rounds(corpus, prior_path, config, evaluate, workers):
        for name, out in outcomes.items():
            results.setdefault(name, Outcome()).merge(out)
        if progress:
            progress(f"held out {speaker}: done")
    return results


def _round(test: Sequence[Utterance], corpus: Sequence[Utterance], resources: Resources,
           options: Options | None, only: Sequence[str] | None,
           seed: int, mismatch: Mismatch) -> dict[str, Outcome]:
    return run(test, resources, options, only, seed, sources=corpus, mismatch=mismatch)


def format_table(results: dict[str, Outcome]) -> str:
    """Conditions as rows: the figures and their change from ``clean``."""
    cols = ("frame_acc3", "vb_f1@20", "pb@20", "wb@20", "word_mae_ms")
    base = results["clean"].tally.metrics() if "clean" in results else None
    head = (f"{'condition':<34}" + "".join(f"{c:>12}" for c in cols)
            + f"{'Δvb@20':>8}{'Δpb@20':>8}{'flagged':>9}{'failed':>7}{'in pad':>7}")
    lines = [head, "-" * len(head)]
    for name, out in results.items():
        m = out.tally.metrics()
        cells = "".join(f"{m[c]:>12.1f}" if c.endswith("_ms") else f"{m[c]:>12.3f}"
                        for c in cols)
        dvb = 100 * (m["vb_f1@20"] - base["vb_f1@20"]) if base else float("nan")
        dpb = 100 * (m["pb@20"] - base["pb@20"]) if base else float("nan")
        flag = f"{100 * out.flagged / out.altered:.0f} %" if out.altered else "-"
        pad = str(out.phones_in_padding) if name.startswith("10 s") else "-"
        lines.append(f"{name:<34}{cells}{dvb:>8.1f}{dpb:>8.1f}{flag:>9}"
                     f"{len(out.tally.failures):>7}{pad:>7}")
    return "\n".join(lines)
