"""Accuracy benchmark on a TIMIT-format folder.

Every utterance goes through :func:`vowelseg.pipeline.segment` with its ``.txt``
sentence as the transcript; the reply is scored against the hand labels:
3-class frame accuracy, vowel frame F1, vowel-boundary F1, phone-boundary
and word-boundary agreement. Counts are pooled over all utterances.
"""

from __future__ import annotations

import functools
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from vowelseg.hmm.gmm import one_blas_thread
from vowelseg.hmm.model import AcousticModel, load_model
from vowelseg.options import Options
from vowelseg.pipeline import Resources, load_resources, segment
from vowelseg.result import Segmentation

from vowelseg_lab.training.corpus import (
    REF_EXCLUDED,
    REF_PAUSES,
    REF_VOWELS,
    Interval,
    Utterance,
    edit_alignment,
    fold_hypothesis,
    fold_reference,
    speaker_of,
)

if TYPE_CHECKING:  # the recipe needs the [train] extra; scoring does not
    from vowelseg_lab.training.recipe import AdaptConfig

VB_TOLERANCES_S = (0.010, 0.020, 0.050)
PB_TOLERANCES_S = (0.010, 0.020, 0.025, 0.050)
WB_TOLERANCES_S = (0.020, 0.050)

# ---------------------------------------------------------------- frame classes

def ref_class(label: str) -> str:
    """``vowel``, ``consonant``, ``pause`` or ``excluded`` for a TIMIT phone."""
    if label in REF_VOWELS:
        return "vowel"
    if label in REF_PAUSES:
        return "pause"
    if label in REF_EXCLUDED:
        return "excluded"
    return "consonant"


def frame_classes(intervals: Sequence[tuple[str, float, float]], duration: float,
                  hop_s: float = 0.01) -> np.ndarray:
    """Class at every frame centre ``hop_s/2, 3*hop_s/2, ... < duration``; ``pause``
    where no interval covers it. Intervals carry a class as their label."""
    centres = np.arange(hop_s / 2, duration, hop_s)
    out = np.full(len(centres), "pause", dtype=object)
    for cls, start, end in intervals:
        out[(centres >= start) & (centres < end)] = cls
    return out


def hyp_intervals(seg: Segmentation | None) -> list[Interval]:
    """Reply phones as ``(class, start, end)``."""
    return [] if seg is None else [(p.cls, p.start, p.end) for p in seg.phones]


# ---------------------------------------------------------------- boundaries

def vowel_runs(intervals: Sequence[Interval], eps: float = 1e-6) -> list[tuple[float, float]]:
    """Vowel intervals (label ``vowel``) with touching ones merged."""
    runs: list[tuple[float, float]] = []
    for cls, start, end in intervals:
        if cls != "vowel":
            continue
        if runs and abs(start - runs[-1][1]) <= eps:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def match_greedy(ref: Sequence[float], hyp: Sequence[float], tol_s: float) -> int:
    """One-to-one matches of ``ref`` to ``hyp`` times within ``tol_s``, closest first."""
    pairs = sorted(
        (abs(r - h), i, j) for i, r in enumerate(ref) for j, h in enumerate(hyp)
        if abs(r - h) <= tol_s
    )
    used_r, used_h, n = set(), set(), 0
    for _, i, j in pairs:
        if i not in used_r and j not in used_h:
            used_r.add(i)
            used_h.add(j)
            n += 1
    return n


def vowel_boundary_counts(ref: Sequence[Interval], hyp: Sequence[Interval],
                          tol_s: float, ignore: tuple[float, float] | None = None,
                          ) -> tuple[int, int, int]:
    """``(matched, n_ref, n_hyp)`` vowel onsets and offsets (matched by type);
    boundaries inside ``ignore`` (a time span) are left out on both sides."""
    r, h = vowel_runs(ref), vowel_runs(hyp)
    matched = n_ref = n_hyp = 0
    for k in (0, 1):
        rk = [x[k] for x in r if not _inside(x[k], ignore)]
        hk = [x[k] for x in h if not _inside(x[k], ignore)]
        matched += match_greedy(rk, hk, tol_s)
        n_ref += len(rk)
        n_hyp += len(hk)
    return matched, n_ref, n_hyp


def _inside(t: float, span: tuple[float, float] | None) -> bool:
    return span is not None and span[0] <= t <= span[1]


def phone_boundary_errors(ref: Sequence[Interval], hyp: Sequence[Interval]) -> list[float | None]:
    """Per reference boundary (end of phone i, i < n-1): the absolute error in
    seconds if phones i and i+1 align to consecutive hypothesis phones, else None."""
    link = edit_alignment([r[0] for r in ref], [h[0] for h in hyp])
    errors: list[float | None] = []
    for i in range(len(ref) - 1):
        j, k = link[i], link[i + 1]
        if j >= 0 and k == j + 1:
            errors.append(abs(ref[i][2] - hyp[j][2]))
        else:
            errors.append(None)
    return errors


def word_boundary_errors(ref: Sequence[Interval], seg: Segmentation | None) -> list[float | None]:
    """Per reference word onset and offset: absolute error (s) against the
    reply's word it aligns to by edit distance (same word), else None."""
    hyp = [] if seg is None else [(w.word.lower(), w.start, w.end) for w in seg.words]
    link = edit_alignment([r[0].lower() for r in ref], [h[0] for h in hyp])
    errors: list[float | None] = []
    for i, (word, start, end) in enumerate(ref):
        j = link[i]
        if j >= 0 and hyp[j][0] == word:
            errors += [abs(start - hyp[j][1]), abs(end - hyp[j][2])]
        else:
            errors += [None, None]
    return errors


# ---------------------------------------------------------------- scoring

@dataclass
class Tally:
    """Pooled counts over a corpus; :meth:`metrics` turns them into figures."""

    frames: int = 0
    frames_right: int = 0
    vowel_tp: int = 0
    vowel_fp: int = 0
    vowel_fn: int = 0
    vb: dict = field(default_factory=lambda: {t: [0, 0, 0] for t in VB_TOLERANCES_S})
    pb_errors: list = field(default_factory=list)
    wb_errors: list = field(default_factory=list)
    utterances: int = 0
    failures: list = field(default_factory=list)
    audio_s: float = 0.0
    wall_s: float = 0.0

    def add(self, utt: Utterance, seg: Segmentation | None,
            ignore: tuple[float, float] | None = None) -> None:
        """Score one utterance's reply (None: it failed); frames, boundaries and
        words inside the ``ignore`` span (seconds) are left out."""
        ref = [(ref_class(lab), s, e) for lab, s, e in utt.phones]
        hyp = hyp_intervals(seg)
        rc = frame_classes(ref, utt.duration)
        hc = frame_classes(hyp, utt.duration)
        keep = rc != "excluded"
        if ignore is not None:
            centres = np.arange(len(rc)) * 0.01 + 0.005
            keep &= (centres < ignore[0]) | (centres > ignore[1])
        rc, hc = rc[keep], hc[keep]
        self.frames += len(rc)
        self.frames_right += int((rc == hc).sum())
        self.vowel_tp += int(((rc == "vowel") & (hc == "vowel")).sum())
        self.vowel_fp += int(((rc != "vowel") & (hc == "vowel")).sum())
        self.vowel_fn += int(((rc == "vowel") & (hc != "vowel")).sum())
        for tol, counts in self.vb.items():
            for k, v in enumerate(vowel_boundary_counts(ref, hyp, tol, ignore)):
                counts[k] += v
        folded = fold_reference(utt.phones)
        errors = phone_boundary_errors(folded, fold_hypothesis(seg, utt.duration))
        self.pb_errors += [e for e, r in zip(errors, folded, strict=False)
                           if not _inside(r[2], ignore)]
        words = [w for w in utt.words if not (_inside(w[1], ignore) and _inside(w[2], ignore))]
        self.wb_errors += word_boundary_errors(words, seg)
        self.utterances += 1
        self.audio_s += utt.duration

    def merge(self, other: Tally) -> None:
        """Pool another tally's counts into this one."""
        for name in ("frames", "frames_right", "vowel_tp", "vowel_fp", "vowel_fn",
                     "utterances", "audio_s", "wall_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for tol, counts in other.vb.items():
            self.vb[tol] = [a + b for a, b in zip(self.vb[tol], counts, strict=True)]
        self.pb_errors += other.pb_errors
        self.wb_errors += other.wb_errors
        self.failures += other.failures

    def metrics(self) -> dict[str, float]:
        """All figures (names as the README and the model cards use them)."""
        out = {"frame_acc3": self.frames_right / max(1, self.frames)}
        p = self.vowel_tp / max(1, self.vowel_tp + self.vowel_fp)
        r = self.vowel_tp / max(1, self.vowel_tp + self.vowel_fn)
        out["vowel_f1"] = 2 * p * r / max(1e-12, p + r)
        for tol, (matched, n_ref, n_hyp) in self.vb.items():
            out[f"vb_f1@{tol * 1000:.0f}"] = 2 * matched / max(1, n_ref + n_hyp)
        pb = [e for e in self.pb_errors if e is not None]
        for tol in PB_TOLERANCES_S:
            out[f"pb@{tol * 1000:.0f}"] = sum(e <= tol for e in pb) / max(1, len(self.pb_errors))
        out["pb_matched"] = len(pb) / max(1, len(self.pb_errors))
        out["pb_mae_ms"] = 1000 * float(np.mean(pb)) if pb else float("nan")
        wb = [e for e in self.wb_errors if e is not None]
        for tol in WB_TOLERANCES_S:
            out[f"wb@{tol * 1000:.0f}"] = sum(e <= tol for e in wb) / max(1, len(self.wb_errors))
        out["word_mae_ms"] = 1000 * float(np.mean(wb)) if wb else float("nan")
        out["failed"] = len(self.failures)
        out["utterances"] = self.utterances
        out["rtf"] = self.wall_s / max(1e-9, self.audio_s)
        out["wall_s"] = self.wall_s
        return out


Aligner = Callable[[Utterance], Segmentation]


def run(corpus: Sequence[Utterance], align: Aligner,
        progress: Callable[[str], None] | None = None) -> Tally:
    """Align every utterance with ``align`` and pool the scores."""
    tally = Tally()
    for i, utt in enumerate(corpus):
        t0 = time.perf_counter()
        try:
            seg = align(utt)
        except Exception as exc:  # a failure is a result here, counted and reported
            seg = None
            tally.failures.append((utt.utt_id, f"{type(exc).__name__}: {exc}"))
        tally.wall_s += time.perf_counter() - t0
        tally.add(utt, seg)
        if progress:
            progress(f"[{i + 1}/{len(corpus)}] {utt.utt_id}")
    return tally


def run_heldout(
    utterances: Sequence[Utterance],
    prior_path: Path,
    options: Options,
    config: AdaptConfig,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
    train_speakers: int | None = None,
) -> Tally:
    """Speaker-held-out scores of a model fitted on this corpus.

    For each speaker, the prior at ``prior_path`` is fitted (as the recipe
    does) on the other speakers' utterances only (or on ``train_speakers`` of
    them, :func:`training_speakers`), then scored on the held-out speaker's;
    the rounds run in parallel and their counts are pooled.
    """
    total = Tally()
    for speaker, tally in heldout_rounds(utterances, prior_path, config, functools.partial(
            _score_round, options=options), workers, train_speakers):
        total.merge(tally)
        if progress:
            progress(f"held out {speaker}: {tally.utterances} utterances scored")
    return total


def heldout_recipe(model: AcousticModel, model_path: Path, utterances: Sequence[Utterance],
                   ) -> tuple[Path, AdaptConfig, int] | None:
    """How to score ``model`` speaker-held-out on ``utterances``, if its card says it
    was fitted on some of their speakers: its prior's path, its recipe settings and
    how many of the speakers it saw; None when it saw none (score it as it is)."""
    from vowelseg_lab.training.recipe import AdaptConfig

    card = model.card
    seen = set(card.get("adapted_on", {}).get("speakers", []))
    overlap = seen & {speaker_of(u) for u in utterances}
    if not overlap:
        return None
    return (Path(model_path).parent / card["prior"], AdaptConfig.from_dict(card["adapt_config"]),
            len(overlap))


Evaluate = Callable[[Sequence[Utterance], Sequence[Utterance], Resources], Any]


def heldout_rounds(
    utterances: Sequence[Utterance],
    prior_path: Path,
    config: AdaptConfig,
    evaluate: Evaluate,
    workers: int = 2,
    train_speakers: int | None = None,
) -> Iterator[tuple[str, Any]]:
    """For each speaker in turn: fit the prior (as the recipe does) on the other
    speakers' utterances (or ``train_speakers`` of them, :func:`training_speakers`),
    then ``evaluate(test, corpus, resources)`` on that speaker's. ``evaluate``
    must be picklable (a module-level function or a ``functools.partial`` of
    one); rounds run ``workers`` at a time.

    Yields
    ------
    (speaker, result) in speaker order.
    """
    speakers = sorted({speaker_of(u) for u in utterances})
    jobs = [(list(utterances), s, training_speakers(speakers, s, train_speakers),
             Path(prior_path), config, evaluate) for s in speakers]
    # spawned, not forked: a fork of a process that runs other threads (a server,
    # a test client) can inherit a lock held by one of them and wait forever
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=spawn,
                             initializer=one_blas_thread) as pool:
        yield from zip(speakers, pool.map(_heldout_round, jobs), strict=True)


def training_speakers(speakers: Sequence[str], held_out: str, count: int | None = None,
                      ) -> list[str]:
    """The speakers a held-out round trains on: all but ``held_out``, or the
    ``count`` that follow it in ``speakers``' order, wrapping round (so, over
    the rounds, every speaker is trained on equally often; for a learning curve).

    Raises
    ------
    ValueError
        If ``count`` is not between 1 and the number of other speakers.
    """
    others = len(speakers) - 1
    if count is None:
        count = others
    if not 1 <= count <= others:
        raise ValueError(f"a held-out round can train on 1 to {others} speakers of this "
                         f"corpus, not {count}")
    i = list(speakers).index(held_out)
    return [speakers[(i + k) % len(speakers)] for k in range(1, count + 1)]


def _heldout_round(job: tuple[list[Utterance], str, list[str], Path, AdaptConfig, Evaluate],
                   ) -> Any:
    from vowelseg_lab.training.recipe import fit_to_corpus

    utterances, speaker, trained_on, prior_path, config, evaluate = job
    prior = load_model(prior_path)
    train = [u for u in utterances if speaker_of(u) in trained_on]
    lexicon = load_resources().lexicon
    resources = Resources(fit_to_corpus(prior, train, config, lexicon), lexicon)
    test = [u for u in utterances if speaker_of(u) == speaker]
    return evaluate(test, utterances, resources)


def _score_round(test: Sequence[Utterance], corpus: Sequence[Utterance], resources: Resources,
                 options: Options) -> Tally:
    return run(test, lambda u: segment(u.wav, u.text, resources, options))


COLUMNS = ("frame_acc3", "vowel_f1", "vb_f1@10", "vb_f1@20", "vb_f1@50", "pb@10", "pb@20",
           "pb@25", "pb@50", "pb_matched", "pb_mae_ms", "wb@20", "wb@50", "word_mae_ms",
           "failed", "rtf")


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Systems as rows, metrics as columns (plain text, fixed width)."""
    head = f"{'system':<22}" + "".join(f"{c:>12}" for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, m in results.items():
        cells = []
        for c in COLUMNS:
            v = m[c]
            cells.append(f"{v:>12.0f}" if c == "failed" else
                         f"{v:>12.1f}" if c.endswith("_ms") else f"{v:>12.3f}")
        lines.append(f"{name:<22}" + "".join(cells))
    return "\n".join(lines)
