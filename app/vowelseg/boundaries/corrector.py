"""The boundary model: a corrector that moves each boundary from the sound
around it, and a calibrator that gives each phone and word the probability that
its boundaries are right.

Both are gradient-boosted trees (LightGBM), trained by the recipe on alignments
of speakers the aligning model had not been fitted on
(:mod:`vowelseg_lab.training.boundary_model`), and kept as arrays
(:mod:`vowelseg.boundaries.trees`). Their inputs are read off what the
pipeline has already computed: the static cepstra of every frame and the
aligned phones.

For each boundary between two touching phones (or a phone and a pause):
- the two phones and their broad classes, and their durations;
- spectral change: at every frame edge within :data:`REACH_FRAMES` of the
  boundary, the distance between the mean cepstra of the ``L`` frames after it
  and the ``L`` before (for each ``L`` of :data:`LAGS_FRAMES`: 10, 20 and 40 ms),
  and where each curve peaks; cepstral distance is log-mel distance, smoothed
  (the DCT is orthonormal);
- energy (c0) every :data:`ENERGY_STEP` frames across the same reach.
The corrector predicts the shift to the careful labeller's boundary (seconds).
A boundary classifier reads the same, the corrector's shift, the spread of the
posterior at the boundary and the log-likelihood ratios (against a free phone
loop) of the units on either side, and scores whether the corrected boundary
lies within :data:`RIGHT_WITHIN_S` of the labeller's. A phone's score is the sum
of its two boundaries' log-probabilities under that classifier, a word's that
of its first phone's start and its last phone's end; isotonic maps fitted on
out-of-speaker scores turn them into probabilities. (Separate phone and word
classifiers over the same evidence ranked worse: with some 2600 phones and 700
words to learn from they fitted noise; docs/experiments.md.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vowelseg.boundaries.trees import Trees
from vowelseg.errors import ModelError
from vowelseg.phones import BROAD_CLASSES, PHONES, base_phone, phone_class
from vowelseg.result import (
    CONFIDENCE_SCALE_NATS,
    LOW_CONFIDENCE,
    Segmentation,
    Timeline,
    confidence_of,
    with_units,
)

#: Spectral-change lags, frames (5 ms): 10, 20 and 40 ms.
LAGS_FRAMES = (2, 4, 8)
#: Frame edges either side of a boundary the curves are read at (50 ms).
REACH_FRAMES = 10
#: Energy is read every this many frames across the reach.
ENERGY_STEP = 2
#: Largest shift applied, seconds (the corrector fixes placement, not gross errors).
MAX_SHIFT_S = 0.04
#: "Right" for the calibrator: both boundaries within this of a labeller's.
RIGHT_WITHIN_S = 0.02

_CLASSES = sorted(set(BROAD_CLASSES.values()))
_PHONE_ID = {p: i for i, p in enumerate(PHONES)}
_CLASS_ID = {c: i for i, c in enumerate(_CLASSES)}


def boundary_feature_names() -> list[str]:
    """Names of :func:`boundary_features`' columns."""
    names = ["left_phone", "right_phone", "left_class", "right_class", "left_s", "right_s",
             "fraction"]
    for lag in LAGS_FRAMES:
        names += [f"change{lag}_{k}" for k in range(-REACH_FRAMES, REACH_FRAMES + 1)]
        names += [f"change{lag}_peak", f"change{lag}_max"]
    names += [f"c0_{k}" for k in range(-REACH_FRAMES, REACH_FRAMES + 1, ENERGY_STEP)]
    return names


#: Categorical columns (LightGBM treats them as categories, not numbers).
CATEGORICAL = ("left_phone", "right_phone", "left_class", "right_class")


def _change_curves(cepstra: np.ndarray) -> dict[int, np.ndarray]:
    """Per lag, ``(n_frames + 1,)``: spectral change at every frame edge (0 at the
    recording's ends, where a side is shorter than the lag)."""
    n = len(cepstra)
    total = np.concatenate([np.zeros((1, cepstra.shape[1])),
                            np.cumsum(cepstra, axis=0, dtype=np.float64)])
    curves = {}
    for lag in LAGS_FRAMES:
        edges = np.arange(lag, n - lag + 1)
        after = (total[edges + lag] - total[edges]) / lag
        before = (total[edges] - total[edges - lag]) / lag
        curve = np.zeros(n + 1)
        curve[edges] = np.linalg.norm(after - before, axis=1)
        curves[lag] = curve
    return curves


def boundary_features(cepstra: np.ndarray, hop_s: float,
                      units: list[tuple[str, float, float]],
                      at: list[int]) -> tuple[np.ndarray, list[int]]:
    """Feature rows for every boundary between two touching units.

    Parameters
    ----------
    cepstra : np.ndarray
        ``(n_frames, n_ceps)`` static cepstra (c0 first), frame ``t`` centred
        on ``t * hop_s``.
    hop_s : float
        Frame step, seconds.
    units : list of (phone, start_s, end_s)
        Phones and pauses (``"SIL"``) in time order.
    at : list of int
        The boundaries between touching units (:attr:`vowelseg.result.Timeline.at`).

    Returns
    -------
    rows : np.ndarray
        ``(n_boundaries, len(boundary_feature_names()))`` float32.
    at : list of int
        The ``at`` given: for each row, the index of the unit its boundary ends.
    """
    rows = np.zeros((len(at), _N_BOUNDARY_FEATURES), dtype=np.float32)
    if not at:
        return rows, at
    n = len(cepstra)
    times = np.array([units[i][2] for i in at])
    edge = times / hop_s + 0.5  # the edge before frame t is at (t - 0.5) * hop_s
    nearest = np.rint(edge).astype(int)
    offsets = np.arange(-REACH_FRAMES, REACH_FRAMES + 1)
    where = np.clip(nearest[:, None] + offsets[None, :], 0, n)
    left = [base_phone(units[i][0]) for i in at]
    right = [base_phone(units[i + 1][0]) for i in at]
    rows[:, 0] = [_PHONE_ID[p] for p in left]
    rows[:, 1] = [_PHONE_ID[p] for p in right]
    rows[:, 2] = [_CLASS_ID[BROAD_CLASSES[p]] for p in left]
    rows[:, 3] = [_CLASS_ID[BROAD_CLASSES[p]] for p in right]
    rows[:, 4] = [units[i][2] - units[i][1] for i in at]
    rows[:, 5] = [units[i + 1][2] - units[i + 1][1] for i in at]
    rows[:, 6] = edge - nearest
    col = 7
    for curve in _change_curves(cepstra).values():
        values = curve[where]
        rows[:, col:col + len(offsets)] = values
        rows[:, col + len(offsets)] = offsets[np.argmax(values, axis=1)]
        rows[:, col + len(offsets) + 1] = values.max(axis=1)
        col += len(offsets) + 2
    energy_at = np.clip(nearest[:, None] + offsets[None, ::ENERGY_STEP], 0, n - 1)
    energy = cepstra[energy_at, 0]
    rows[:, col:] = energy - energy.mean(axis=1, keepdims=True)
    return rows, at


#: Column count worked out once rather than from the name list on every request.
_N_BOUNDARY_FEATURES = len(boundary_feature_names())


def classifier_feature_names() -> list[str]:
    """Names of :func:`classifier_rows`' columns."""
    return boundary_feature_names() + ["shift", "spread_s", "left_llr", "right_llr"]


def classifier_rows(found: BoundaryEvidence, shifts_s: np.ndarray) -> np.ndarray:
    """The boundary classifier's input: each boundary's row, the corrector's
    shift of it, the posterior's spread there and the log-likelihood ratios of
    the units it separates."""
    llr = np.asarray(found.llr, dtype=float)
    at = np.asarray(found.at, dtype=int)
    return np.column_stack([found.rows, shifts_s, found.spread_s, llr[at],
                            llr[at + 1]]).astype(np.float32)


def log_sigmoid(scores: np.ndarray) -> np.ndarray:
    """log(1 / (1 + exp(-scores))), computed stably: a raw score's log-probability."""
    return -np.logaddexp(0.0, -np.asarray(scores, dtype=float))


def vowel_units(units: list[tuple[str, float, float]]) -> np.ndarray:
    """Which units are vowels (they have their own calibration), ``(len(units),)`` bool."""
    return np.array([phone_class(u[0]) == "vowel" for u in units], dtype=bool)


def phone_and_word_scores(found: BoundaryEvidence, boundary_scores: np.ndarray,
                          missing_logp: float,
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The calibrators' inputs: per unit (phones and pauses, ``found.units``),
    the sum of its two boundaries' log-probabilities of being right; per found
    word, that of its start and its end. A side touching nothing counts
    ``missing_logp``."""
    start = np.full(len(found.units), missing_logp)
    end = np.full(len(found.units), missing_logp)
    at = np.asarray(found.at, dtype=int)
    logp = log_sigmoid(boundary_scores)
    end[at], start[at + 1] = logp, logp
    words = np.array([start[first] + end[last] for first, last in found.words])
    return start + end, words


@dataclass(frozen=True)
class Calibration:
    """Isotonic map from a classifier's raw score to a probability: piecewise
    linear through ``(x, y)``, kept within [0.01, 0.99] (a few hundred examples
    per bin support no certainty either way)."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return np.clip(np.interp(scores, self.x, self.y), 0.01, 0.99)


@dataclass(frozen=True)
class BoundaryModel:
    """The corrector and the boundary classifier (:class:`~vowelseg.boundaries.trees.Trees`,
    raw scores), and the calibrations of the phone and word scores
    (:func:`phone_and_word_scores`): vowels have their own (the boundaries
    around a vowel, often against an approximant or another vowel, are right
    less often than their scores alone say).

    Attributes
    ----------
    missing_logp : float
        The log-probability counted for a side of a unit that touches nothing
        (the mean over the training boundaries).
    """

    corrector: Trees
    boundary_classifier: Trees
    phone_calibration: Calibration
    vowel_calibration: Calibration
    word_calibration: Calibration
    missing_logp: float
    card: dict

    def shifts(self, rows: np.ndarray) -> np.ndarray:
        """Shift of each boundary, seconds, clipped to :data:`MAX_SHIFT_S`."""
        if not len(rows):
            return np.zeros(0)
        return np.clip(self.corrector.predict(rows), -MAX_SHIFT_S, MAX_SHIFT_S)

    def boundary_scores(self, found: BoundaryEvidence, shifts_s: np.ndarray) -> np.ndarray:
        """Raw score, per boundary, of its being right after correction."""
        if not len(found.rows):
            return np.zeros(0)
        return self.boundary_classifier.predict(classifier_rows(found, shifts_s))


_ENSEMBLES = ("corrector", "boundary_classifier")
_CALIBRATIONS = ("phone_calibration", "vowel_calibration", "word_calibration")


def save(model: BoundaryModel, path: Path) -> None:
    """The model as arrays (``.npz``): its trees, calibration maps and card (JSON)."""
    arrays = {}
    for name in _ENSEMBLES:
        arrays |= getattr(model, name).arrays(f"{name}.")
    for name in _CALIBRATIONS:
        arrays[f"{name}.x"] = np.array(getattr(model, name).x)
        arrays[f"{name}.y"] = np.array(getattr(model, name).y)
    arrays["missing_logp"] = np.array(model.missing_logp)
    arrays["card"] = np.array(json.dumps(model.card))
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def load(path: Path) -> BoundaryModel:
    """A model :func:`save` wrote."""
    with np.load(path, allow_pickle=False) as arrays:
        if "missing_logp" not in arrays:
            raise ModelError(f"{path} is a boundary model of an older vowelseg (separate phone "
                             "and word classifiers): fit it again with vowelseg-lab fit-boundaries")
        trees = {name: Trees.from_arrays(arrays, f"{name}.") for name in _ENSEMBLES}
        calibrations = {name: Calibration(tuple(arrays[f"{name}.x"].tolist()),
                                          tuple(arrays[f"{name}.y"].tolist()))
                        for name in _CALIBRATIONS}
        card = json.loads(str(arrays["card"]))
        missing_logp = float(arrays["missing_logp"])
    return BoundaryModel(trees["corrector"], trees["boundary_classifier"],
                         **calibrations, missing_logp=missing_logp, card=card)


def path_for(model_path: Path) -> Path:
    """Where a model's boundary model is kept: ``NAME.boundaries.npz`` beside it."""
    return Path(model_path).with_suffix(".boundaries.npz")


def load_for(model_path: Path) -> BoundaryModel | None:
    """The boundary model beside the model at ``model_path``, or None if it has none."""
    path = path_for(model_path)
    return load(path) if path.exists() else None


@dataclass(frozen=True)
class BoundaryEvidence:
    """What the boundary model reads off one alignment.

    Attributes
    ----------
    line : Timeline
        The alignment's phones and pauses in time order, their fit and the
        posterior's spread at each boundary.
    rows : np.ndarray
        :func:`boundary_features` of ``line.units``, a row per boundary of ``line.at``.
    llr : np.ndarray
        ``(len(line.units),)`` the units' log-likelihood ratios as the classifier reads them
        (:func:`classifier_llr` for phones, 0 for pauses).
    words : list of (int, int)
        For each found word, the unit indices of its first and last phones.
    """

    line: Timeline
    rows: np.ndarray
    llr: np.ndarray
    words: list[tuple[int, int]]

    @property
    def units(self) -> list[tuple[str, float, float]]:
        """The units (phone, start_s, end_s) in time order."""
        return self.line.units

    @property
    def at(self) -> list[int]:
        """The boundaries between touching units (:attr:`Timeline.at`)."""
        return self.line.at

    @property
    def spread_s(self) -> np.ndarray:
        """Per boundary, the posterior's standard deviation, seconds."""
        return self.line.spread_s


def classifier_llr(llr: np.ndarray) -> np.ndarray:
    """A unit's log-likelihood ratio as the boundary classifier was fitted on it:
    at the resolution of the reply's confidence (exp(LLR / 4) to three
    decimals, at least 0.001)."""
    return np.array([CONFIDENCE_SCALE_NATS * np.log(max(confidence_of(x), 1e-3)) for x in llr])


def evidence(seg: Segmentation, line: Timeline, cepstra: np.ndarray,
             hop_s: float) -> BoundaryEvidence:
    """The boundary model's inputs for ``seg`` and its timeline ``line``."""
    rows, at = boundary_features(cepstra, hop_s, line.units, line.at)
    # a pause's LLR is 0 (a confidence of 1), which classifier_llr keeps 0
    return BoundaryEvidence(line, rows, classifier_llr(line.llr), line.word_units(seg))


def correct(seg: Segmentation, found: BoundaryEvidence, model: BoundaryModel) -> Segmentation:
    """``seg`` with its boundaries corrected and its phones' and words'
    confidences replaced by the calibrated probabilities that both their
    boundaries lie within :data:`RIGHT_WITHIN_S` of a careful labeller's."""
    shifts = model.shifts(found.rows)
    phone_s, word_s = phone_and_word_scores(found, model.boundary_scores(found, shifts),
                                            model.missing_logp)
    vowel = vowel_units(found.units)
    phone_p = np.where(vowel, model.vowel_calibration(phone_s), model.phone_calibration(phone_s))
    word_p = iter(model.word_calibration(word_s))
    # The calibrators learned from words that were spoken; in a word the audio
    # fits badly (an unspoken transcript word, say) phones and word keep its low fit.
    fit = [w.confidence for w in seg.words]

    def kept(p: float, word: int) -> float:
        return round(p if fit[word] >= LOW_CONFIDENCE else min(p, fit[word]), 3)

    corrected = with_units(seg, found.line.moved(shifts))
    phones = [replace(p, confidence=kept(float(phone_p[i]), p.word))
              for p, i in zip(corrected.phones, found.line.phone_units, strict=True)]
    words = [replace(w, confidence=kept(float(next(word_p)), k)) if w.found else w
             for k, w in enumerate(corrected.words)]
    return replace(corrected, phones=phones, words=words)
