"""Training the boundary model (:mod:`vowelseg.boundaries.corrector`) on
speaker-held-out alignments of a hand-labelled corpus.

Each speaker's utterances are aligned by the recipe's model fitted on the other
speakers (:func:`vowelseg_lab.bench.metrics.heldout_rounds`), so the boundaries the
corrector learns from carry the errors of a model meeting a new voice, which is
what it will correct (trained on as-fitted alignments it gained a third less,
issue 21). From those alignments:

1. the corrector, a LightGBM regressor with a Huber loss, learns each
   boundary's shift to the labeller's (boundaries more than
   :data:`TARGET_REACH_S` off are misalignments, not placement, and are left out);
2. each phone gets "right" (both its boundaries, corrected, within
   :data:`~vowelseg.boundaries.corrector.RIGHT_WITHIN_S` of the labeller's) or
   not, and a LightGBM classifier learns it; an isotonic map fitted on its
   out-of-speaker scores turns its scores into probabilities; likewise words.

:func:`cross_validate` scores all of it leaving each speaker out in turn (the
corrector and classifiers fitted on the other speakers' rows, the isotonic map
on those speakers' own out-of-speaker scores), which is what ``vowelseg-lab bench``
reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from vowelseg.boundaries.corrector import (
    CATEGORICAL,
    MAX_SHIFT_S,
    RIGHT_WITHIN_S,
    BoundaryEvidence,
    BoundaryModel,
    Calibration,
    boundary_feature_names,
    classifier_feature_names,
    classifier_rows,
    log_sigmoid,
    phone_and_word_scores,
    vowel_units,
)
from vowelseg.boundaries.corrector import correct as apply_model
from vowelseg.boundaries.trees import from_lightgbm
from vowelseg.phones import base_phone
from vowelseg.result import Segmentation, timeline, with_units

from vowelseg_lab.training.corpus import Utterance, edit_alignment, fold_reference, speaker_of

#: Fewest speakers a corpus needs for the boundary model: its calibration is
#: fitted on scores of models that left one speaker out, each needing two
#: speakers besides it.
MIN_SPEAKERS = 3


def enough_speakers(utterances: Sequence[Utterance]) -> bool:
    """Whether a corpus has the :data:`MIN_SPEAKERS` a boundary model needs."""
    return len({speaker_of(u) for u in utterances}) >= MIN_SPEAKERS


#: Boundaries further than this from the labeller's are not corrector targets, s.
TARGET_REACH_S = 0.05

CORRECTOR_PARAMS = {"objective": "huber", "alpha": 0.01, "learning_rate": 0.05,
                    "num_leaves": 15, "min_data_in_leaf": 20, "feature_fraction": 0.8,
                    "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
                    "verbose": -1, "num_threads": 1, "seed": 0}
CORRECTOR_ROUNDS = 300
CLASSIFIER_PARAMS = {"objective": "binary", "learning_rate": 0.03, "num_leaves": 15,
                     "min_data_in_leaf": 20, "feature_fraction": 0.8, "lambda_l2": 1.0,
                     "verbose": -1, "num_threads": 1, "seed": 0}
CLASSIFIER_ROUNDS = 300


@dataclass
class Example:
    """One utterance aligned by a model that had not heard its speaker."""

    utt_id: str
    speaker: str
    seg: Segmentation
    found: BoundaryEvidence
    reference: list[tuple[str, float, float]]
    words: list[tuple[str, float, float]]
    wall_s: float = 0.0  # aligning it took, s
    targets: np.ndarray = field(default=None)  # per boundary row: labeller - ours, or NaN

    def __post_init__(self) -> None:
        if self.targets is None:
            self.targets = boundary_targets(self.found, self.reference)


def _links(units: Sequence[tuple[str, float, float]],
           reference: Sequence[tuple[str, float, float]]) -> list[int]:
    """The reference's phones aligned to the units' (stress dropped, pauses ``SIL``,
    as the benchmark folds a reply)."""
    return edit_alignment([r[0] for r in reference], [base_phone(u[0]) for u in units])


def boundary_targets(found: BoundaryEvidence, reference: Sequence[tuple[str, float, float]],
                     ) -> np.ndarray:
    """Per boundary row: the labeller's time minus ours (s) where the two phones
    around it align to two consecutive reference phones, else NaN."""
    link = _links(found.units, reference)
    ends = {j: i for i, j in enumerate(link) if j >= 0}
    out = np.full(len(found.at), np.nan)
    for k, unit in enumerate(found.at):
        i = ends.get(unit)
        if i is not None and i + 1 < len(link) and link[i + 1] == unit + 1:
            out[k] = reference[i][2] - found.units[unit][2]
    return out


def phones_right(units: Sequence[tuple[str, float, float]],
                 reference: Sequence[tuple[str, float, float]]) -> np.ndarray:
    """Per unit: 1 if a reference phone aligns to it and both its edges are within
    :data:`RIGHT_WITHIN_S` of that phone's, else 0."""
    link = _links(units, reference)
    out = np.zeros(len(units))
    for i, j in enumerate(link):
        if j >= 0 and abs(reference[i][1] - units[j][1]) <= RIGHT_WITHIN_S \
                and abs(reference[i][2] - units[j][2]) <= RIGHT_WITHIN_S:
            out[j] = 1.0
    return out


def words_right(seg: Segmentation, words: Sequence[tuple[str, float, float]]) -> np.ndarray:
    """Per found word of ``seg``: 1 if the same reference word aligns to it with both
    edges within :data:`RIGHT_WITHIN_S`, else 0."""
    found = [w for w in seg.words if w.found]
    link = edit_alignment([w[0].lower() for w in words], [w.word.lower() for w in found])
    out = np.zeros(len(found))
    for i, j in enumerate(link):
        if j >= 0 and found[j].word.lower() == words[i][0].lower() \
                and abs(words[i][1] - found[j].start) <= RIGHT_WITHIN_S \
                and abs(words[i][2] - found[j].end) <= RIGHT_WITHIN_S:
            out[j] = 1.0
    return out


def example(utt: Utterance, seg: Segmentation, found: BoundaryEvidence,
            wall_s: float = 0.0) -> Example:
    """An :class:`Example` from one held-out alignment and what the boundary
    model reads off it."""
    return Example(utt.utt_id, speaker_of(utt), seg, found, fold_reference(utt.phones),
                   list(utt.words), wall_s)


# ---------------------------------------------------------------- fitting

def _dataset(rows: np.ndarray, labels: np.ndarray, names: list[str]):  # noqa: ANN202
    import lightgbm

    categorical = [n for n in names
                   if n.removeprefix("first_").removeprefix("last_") in CATEGORICAL]
    return lightgbm.Dataset(rows, labels, feature_name=names, categorical_feature=categorical,
                            free_raw_data=False)


def fit_corrector(examples: Sequence[Example]):  # noqa: ANN201 (lightgbm.Booster)
    import lightgbm

    rows = np.concatenate([e.found.rows for e in examples])
    targets = np.concatenate([e.targets for e in examples])
    keep = np.isfinite(targets) & (np.abs(targets) <= TARGET_REACH_S)
    return lightgbm.train(CORRECTOR_PARAMS,
                          _dataset(rows[keep], targets[keep], boundary_feature_names()),
                          CORRECTOR_ROUNDS)


def _example_tables(e: Example, shifts: np.ndarray, scores: np.ndarray, missing_logp: float,
                    ) -> tuple[np.ndarray, ...]:
    """The scores (:func:`phone_and_word_scores`) and "right" labels of ``e``'s
    phones (and which are vowels) and of its words, with ``shifts``
    applied and ``scores`` the boundary classifier's."""
    line = e.found.line.moved(shifts)
    phone_scores, word_scores = phone_and_word_scores(e.found, scores, missing_logp)
    right = phones_right(line.units, e.reference)
    phone = np.array([u[0] != "SIL" for u in e.found.units])
    return (phone_scores[phone], right[phone], vowel_units(e.found.units)[phone], word_scores,
            words_right(with_units(e.seg, line), e.words))


def fit_classifier(rows: np.ndarray, labels: np.ndarray, names: list[str]):  # noqa: ANN201
    import lightgbm

    return lightgbm.train(CLASSIFIER_PARAMS, _dataset(rows, labels, names), CLASSIFIER_ROUNDS)


def isotonic(scores: np.ndarray, labels: np.ndarray) -> Calibration:
    """The isotonic map from scores to the share of right ones (scikit-learn's
    IsotonicRegression), as a piecewise-linear :class:`Calibration`."""
    from sklearn.isotonic import IsotonicRegression

    fit = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
    return Calibration(tuple(float(x) for x in fit.X_thresholds_),
                       tuple(float(y) for y in fit.y_thresholds_))


def fit(examples: Sequence[Example], say: Callable[[str], None] | None = None,
        ) -> BoundaryModel:
    """The boundary model from held-out examples of several speakers (the
    calibration maps from the boundary classifier's out-of-speaker scores)."""
    speakers = sorted({e.speaker for e in examples})
    corrector = fit_corrector(examples)
    oof_shift = _out_of_speaker_shifts(examples, speakers)
    b_rows, b_right, b_groups = _boundary_table(examples, oof_shift)
    names = classifier_feature_names()
    b_scores = _out_of_speaker_scores(b_rows, b_right, b_groups, names)
    missing_logp = float(log_sigmoid(b_scores).mean())
    oof_scores, first = {}, 0
    for e in examples:
        oof_scores[e.utt_id] = b_scores[first:first + len(e.found.at)]
        first += len(e.found.at)
    phone_scores, phone_right, vowels, word_scores, word_right = _tables(
        examples, oof_shift, oof_scores, missing_logp)
    model = BoundaryModel(
        from_lightgbm(corrector), from_lightgbm(fit_classifier(b_rows, b_right, names)),
        isotonic(phone_scores[~vowels], phone_right[~vowels]),
        isotonic(phone_scores[vowels], phone_right[vowels]), isotonic(word_scores, word_right),
        missing_logp,
        card={"speakers": speakers, "utterances": len(examples),
              "boundaries": int(sum(np.isfinite(e.targets).sum() for e in examples))})
    if say:
        say(f"boundary model: {len(examples)} utterances of {len(speakers)} speakers")
    return model


def _out_of_speaker_shifts(examples: Sequence[Example], speakers: Sequence[str],
                           ) -> dict[str, np.ndarray]:
    """Each example's shifts from a corrector fitted on the other speakers."""
    out = {}
    for s in speakers:
        corrector = fit_corrector([e for e in examples if e.speaker != s])
        for e in examples:
            if e.speaker == s:
                out[e.utt_id] = (np.clip(corrector.predict(e.found.rows), -MAX_SHIFT_S,
                                         MAX_SHIFT_S)
                                 if len(e.found.rows) else np.zeros(0))
    return out


def _boundary_table(examples: Sequence[Example], shifts: dict[str, np.ndarray],
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boundary classifier rows (:func:`classifier_rows`), whether each boundary
    is right after the shift (within :data:`RIGHT_WITHIN_S`; one with no
    labelled counterpart is not), and their speakers."""
    rows = np.concatenate([classifier_rows(e.found, shifts[e.utt_id]) for e in examples])
    error = np.concatenate([np.abs(e.targets - shifts[e.utt_id]) for e in examples])
    right = (np.nan_to_num(error, nan=1.0) <= RIGHT_WITHIN_S).astype(float)
    groups = np.concatenate([[e.speaker] * len(e.found.at) for e in examples])
    return rows, right, groups


def _tables(examples: Sequence[Example], shifts: dict[str, np.ndarray],
            scores: dict[str, np.ndarray], missing_logp: float,
            ) -> tuple[np.ndarray, ...]:
    """:func:`_example_tables` of every example, concatenated."""
    tables = [_example_tables(e, shifts[e.utt_id], scores[e.utt_id], missing_logp)
              for e in examples]
    return tuple(np.concatenate([t[k] for t in tables]) for k in range(5))


def _out_of_speaker_scores(rows: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                           names: list[str]) -> np.ndarray:
    scores = np.zeros(len(rows))
    for s in np.unique(groups):
        test = groups == s
        booster = fit_classifier(rows[~test], labels[~test], names)
        scores[test] = booster.predict(rows[test], raw_score=True)
    return scores


# ---------------------------------------------------------------- scoring

def calibration_figures(probability: np.ndarray, right: np.ndarray, bins: int = 10) -> dict:
    """ECE (equal-width bins), AUROC and the share kept when keeping the most
    confident until 90 % of what is kept is right (0 if never)."""
    from sklearn.metrics import roc_auc_score

    p, y = np.asarray(probability, float), np.asarray(right, float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = sum(abs(p[which == b].mean() - y[which == b].mean()) * (which == b).mean()
              for b in range(bins) if (which == b).any())
    order = np.argsort(-p, kind="stable")
    precision = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
    ok = np.flatnonzero(precision >= 0.9)
    coverage = float((ok.max() + 1) / len(y)) if len(ok) else 0.0
    auroc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
    return {"ece": float(ece), "auroc": auroc, "coverage_at_90": coverage,
            "right": float(y.mean()), "n": int(len(y))}


def cross_validate(examples: Sequence[Example], say: Callable[[str], None] | None = None,
                   ) -> tuple[dict[str, Segmentation], dict[str, dict]]:
    """Each speaker's replies with a boundary model fitted on the other speakers'
    examples, and the confidences' calibration figures over all speakers.

    Returns
    -------
    corrected : dict
        utt_id -> corrected Segmentation (confidences calibrated).
    figures : dict
        ``{"phones_after": ..., "vowels_after": ..., "words_after": ...,
        "phones_before": ..., ...}`` (:func:`calibration_figures`; "before": the
        confidences of the uncorrected replies, exp(LLR / 4)).
    """
    speakers = sorted({e.speaker for e in examples})
    corrected: dict[str, Segmentation] = {}
    for s in speakers:
        model = fit([e for e in examples if e.speaker != s])
        for e in examples:
            if e.speaker == s:
                corrected[e.utt_id] = apply_model(e.seg, e.found, model)
        if say:
            say(f"boundary model without {s}: applied to its utterances")
    figures = {}
    for name, replies in (("after", corrected), ("before", {e.utt_id: e.seg for e in examples})):
        for kind, values in reply_figures(
                [(e.reference, e.words, replies[e.utt_id]) for e in examples]).items():
            figures[f"{kind}_{name}"] = values
    return corrected, figures


def reply_figures(replies: Sequence[tuple[list, list, Segmentation]]) -> dict[str, dict]:
    """:func:`calibration_figures` of the replies' phone, vowel and word
    confidences against "both boundaries within 20 ms" (``replies``: each
    utterance's folded reference phones, reference words and reply)."""
    p, y, pv, yv, pw, yw = [], [], [], [], [], []
    for reference, words, seg in replies:
        right = _phone_rightness(seg, reference)
        p += [q.confidence for q in seg.phones]
        y += list(right)
        pv += [q.confidence for q, r in zip(seg.phones, right, strict=True) if q.cls == "vowel"]
        yv += [r for q, r in zip(seg.phones, right, strict=True) if q.cls == "vowel"]
        pw += [w.confidence for w in seg.words if w.found]
        yw += list(words_right(seg, words))
    return {"phones": calibration_figures(np.array(p), np.array(y)),
            "vowels": calibration_figures(np.array(pv), np.array(yv)),
            "words": calibration_figures(np.array(pw), np.array(yw))}


def _phone_rightness(seg: Segmentation, reference: Sequence[tuple[str, float, float]],
                     ) -> np.ndarray:
    """Per phone of ``seg``, right or not (:func:`phones_right` over its timeline)."""
    line = timeline(seg)
    return phones_right(line.units, reference)[line.phone_units]


# ---------------------------------------------------------------- collecting

def _collect_round(test: Sequence[Utterance], corpus: Sequence[Utterance], resources,  # noqa: ANN001
                   options=None) -> list[Example | tuple[str, str]]:  # noqa: ANN001
    from vowelseg.audio.io import read_audio
    from vowelseg.options import Options
    from vowelseg.pipeline import align_recording

    out: list[Example | tuple[str, str]] = []
    for utt in test:
        t0 = time.perf_counter()
        try:
            seg, found = align_recording(read_audio(utt.wav), utt.text, resources,
                                          options or Options())
        except Exception as exc:  # noqa: BLE001 (a failure is a result: the bench counts it)
            out.append((utt.utt_id, f"{type(exc).__name__}: {exc}"))
            continue
        out.append(example(utt, seg, found, time.perf_counter() - t0))
    return out


def heldout_examples(utterances: Sequence[Utterance], prior_path, config,  # noqa: ANN001
                     workers: int = 2, say: Callable[[str], None] | None = None,
                     options=None, train_speakers: int | None = None,  # noqa: ANN001
                     failures: list | None = None) -> list[Example]:
    """Every utterance aligned by the recipe's model fitted on the other speakers
    (:func:`vowelseg_lab.bench.metrics.heldout_rounds`), as :class:`Example` s; the
    ones that failed go to ``failures`` as ``(utt_id, reason)``."""
    import functools

    from vowelseg_lab.bench.metrics import heldout_rounds

    out: list[Example] = []
    for speaker, results in heldout_rounds(
            utterances, prior_path, config, functools.partial(_collect_round, options=options),
            workers, train_speakers):
        out += [r for r in results if isinstance(r, Example)]
        if failures is not None:
            failures += [r for r in results if not isinstance(r, Example)]
        if say:
            say(f"held out {speaker}: {len(results)} utterances aligned")
    return out
