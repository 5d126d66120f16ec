"""The boundary model: a corrector that moves each boundary from the sound
around it, and a calibrator that gives each phone and word the probability that
its boundaries are right.

Both are gradient-boosted trees (LightGBM), trained by the recipe on alignments
of speakers the aligning model had not been fitted on
(:mod:`vowelseg.training.boundary_model`), and kept as arrays
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
A phone's calibrator inputs are its two boundaries' inputs, the corrector's
shifts, its duration and its log-likelihood ratio against a free phone loop; a
word's, those of its first and last phones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vowelseg.boundaries.trees import Trees
from vowelseg.phones import BROAD_CLASSES, PHONES, base_phone
from vowelseg.result import (
    CONFIDENCE_SCALE_NATS,
    LOW_CONFIDENCE,
    Segmentation,
    moved,
    phone_units,
    timeline,
    touching,
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


#: Categorical columns (LightGBM treats them as categories, not numbers), also
#: with a ``first_``/``last_`` prefix in a word's row.
CATEGORICAL = ("left_phone", "right_phone", "left_class", "right_class", "phone", "class",
               "prev_phone", "next_phone", "prev_class", "next_class")


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
                      units: list[tuple[str, float, float]]) -> tuple[np.ndarray, list[int]]:
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

    Returns
    -------
    rows : np.ndarray
        ``(n_boundaries, len(boundary_feature_names()))`` float32.
    at : list of int
        For each row, the index of the unit the boundary ends.
    """
    at = touching(units)
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


def phone_feature_names() -> list[str]:
    """Names of :func:`phone_features`' columns."""
    return (["phone", "class", "duration_s", "llr", "shift_in", "shift_out", "has_in",
             "has_out"] + [f"in_{n}" for n in _SUMMARY] + [f"out_{n}" for n in _SUMMARY]
            + ["prev_phone", "next_phone", "prev_class", "next_class", "prev_s", "next_s",
               "right_in", "right_out", "right_both"])


#: Boundary columns summarised in a phone's row, for each of its two boundaries.
_SUMMARY = ("change2_max", "change4_max", "change8_max", "change2_peak", "change4_peak",
            "change8_peak")
#: Column counts and the summary's boundary columns, worked out once rather
#: than from the name lists on every request.
_N_BOUNDARY_FEATURES = len(boundary_feature_names())
_N_PHONE_FEATURES = len(phone_feature_names())
_SUMMARY_COLUMNS = [boundary_feature_names().index(n) for n in _SUMMARY]


def with_shift(rows: np.ndarray, shifts_s: np.ndarray) -> np.ndarray:
    """Boundary rows and the corrector's shift of each: the boundary
    classifier's input."""
    return np.column_stack([rows, shifts_s]).astype(np.float32)


def phone_features(rows: np.ndarray, at: list[int], shifts_s: np.ndarray,
                   units: list[tuple[str, float, float]], llr: list[float],
                   boundary_scores: np.ndarray) -> np.ndarray:
    """Feature rows for every unit (pauses included; callers keep the phones').

    Parameters
    ----------
    rows, at
        :func:`boundary_features`' output.
    shifts_s : np.ndarray
        The corrector's shift of each boundary (``(len(at),)``).
    boundary_scores : np.ndarray
        The boundary classifier's raw score of each boundary (right after
        correction or not).
    llr : list of float
        Each unit's mean log-likelihood ratio against a free phone loop (0 for pauses).
    """
    summary = _SUMMARY_COLUMNS
    out = np.full((len(units), _N_PHONE_FEATURES), np.nan, dtype=np.float32)
    out[:, 0] = [_PHONE_ID[base_phone(u[0])] for u in units]
    out[:, 1] = [_CLASS_ID[BROAD_CLASSES[base_phone(u[0])]] for u in units]
    out[:, 2] = [u[2] - u[1] for u in units]
    out[:, 3] = llr
    out[:, 6] = out[:, 7] = 0.0
    s = len(_SUMMARY)
    for k, i in enumerate(at):  # boundary k ends unit i and starts unit i + 1
        out[i, 5], out[i, 7] = shifts_s[k], 1.0
        out[i, 8 + s:8 + 2 * s] = rows[k, summary]
        out[i + 1, 4], out[i + 1, 6] = shifts_s[k], 1.0
        out[i + 1, 8:8 + s] = rows[k, summary]
    col = 8 + 2 * s
    out[1:, col] = out[:-1, 0]       # the unit before: its phone, class, duration
    out[:-1, col + 1] = out[1:, 0]   # and the one after
    out[1:, col + 2] = out[:-1, 1]
    out[:-1, col + 3] = out[1:, 1]
    out[1:, col + 4] = out[:-1, 2]
    out[:-1, col + 5] = out[1:, 2]
    for k, i in enumerate(at):
        out[i, col + 7] = boundary_scores[k]
        out[i + 1, col + 6] = boundary_scores[k]
    out[:, col + 8] = np.fmin(out[:, col + 6], out[:, col + 7])
    return out


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
    """The corrector and the phone and word calibrators
    (:class:`~vowelseg.boundaries.trees.Trees`, raw scores)."""

    corrector: Trees
    boundary_classifier: Trees
    phone_classifier: Trees
    phone_calibration: Calibration
    word_classifier: Trees
    word_calibration: Calibration
    card: dict

    def shifts(self, rows: np.ndarray) -> np.ndarray:
        """Shift of each boundary, seconds, clipped to :data:`MAX_SHIFT_S`."""
        if not len(rows):
            return np.zeros(0)
        return np.clip(self.corrector.predict(rows), -MAX_SHIFT_S, MAX_SHIFT_S)

    def boundary_scores(self, rows: np.ndarray, shifts_s: np.ndarray) -> np.ndarray:
        """Raw score, per boundary, of its being right after correction."""
        if not len(rows):
            return np.zeros(0)
        return self.boundary_classifier.predict(with_shift(rows, shifts_s))

    def phone_probability(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        return self.phone_calibration(self.phone_classifier.predict(rows))

    def word_probability(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        return self.word_calibration(self.word_classifier.predict(rows))


def word_features(phone_rows: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """A word's row: its first phone's and its last phone's rows side by side,
    and its phone count (``spans``: each word's first and last unit index)."""
    width = phone_rows.shape[1]
    out = np.zeros((len(spans), 2 * width + 1), dtype=np.float32)
    for k, (first, last) in enumerate(spans):
        out[k, :width] = phone_rows[first]
        out[k, width:2 * width] = phone_rows[last]
        out[k, -1] = last - first + 1
    return out


_ENSEMBLES = ("corrector", "boundary_classifier", "phone_classifier", "word_classifier")


def save(model: BoundaryModel, path: Path) -> None:
    """The model as arrays (``.npz``): its trees, calibration maps and card (JSON)."""
    arrays = {}
    for name in _ENSEMBLES:
        arrays |= getattr(model, name).arrays(f"{name}.")
    for name in ("phone_calibration", "word_calibration"):
        arrays[f"{name}.x"] = np.array(getattr(model, name).x)
        arrays[f"{name}.y"] = np.array(getattr(model, name).y)
    arrays["card"] = np.array(json.dumps(model.card))
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def load(path: Path) -> BoundaryModel:
    """A model :func:`save` wrote."""
    with np.load(path, allow_pickle=False) as arrays:
        trees = {name: Trees.from_arrays(arrays, f"{name}.") for name in _ENSEMBLES}
        calibrations = {name: Calibration(tuple(arrays[f"{name}.x"].tolist()),
                                          tuple(arrays[f"{name}.y"].tolist()))
                        for name in ("phone_calibration", "word_calibration")}
        card = json.loads(str(arrays["card"]))
    return BoundaryModel(trees["corrector"], trees["boundary_classifier"],
                         trees["phone_classifier"],
                         calibrations["phone_calibration"], trees["word_classifier"],
                         calibrations["word_calibration"], card)


def path_for(model_path: Path) -> Path:
    """Where a model's boundary model is kept: ``NAME.boundaries.npz`` beside it."""
    return Path(model_path).with_suffix(".boundaries.npz")


def load_for(model_path: Path) -> BoundaryModel | None:
    """The boundary model beside the model at ``model_path``, or None if it has none."""
    path = path_for(model_path)
    return load(path) if path.exists() else None


@dataclass(frozen=True)
class Evidence:
    """What the boundary model reads off one alignment.

    Attributes
    ----------
    units : list of (phone, start_s, end_s)
        Phones and pauses (``"SIL"``) in time order (:func:`timeline`).
    rows, at
        :func:`boundary_features` of ``units``.
    phone_units : list of int
        For each phone of the alignment, its index in ``units``.
    llr : list of float
        Each unit's mean log-likelihood ratio against a free phone loop, read
        back from the phones' confidences (0 for pauses).
    words : list of (int, int)
        For each found word, the unit indices of its first and last phones.
    spread_s : np.ndarray
        Per boundary (row), the standard deviation of its place under the
        alignment's posterior, seconds (NaN if unknown).
    """

    units: list[tuple[str, float, float]]
    rows: np.ndarray
    at: list[int]
    phone_units: list[int]
    llr: list[float]
    words: list[tuple[int, int]]
    spread_s: np.ndarray


def evidence(seg: Segmentation, cepstra: np.ndarray, hop_s: float,
             spread_s: np.ndarray | None = None) -> Evidence:
    """The boundary model's inputs for ``seg`` (its boundaries as aligned;
    ``spread_s`` as :class:`Evidence` holds it, all unknown if None)."""
    units = timeline(seg)
    rows, at = boundary_features(cepstra, hop_s, units)
    if spread_s is None:
        spread_s = np.full(len(at), np.nan)
    if len(spread_s) != len(at):
        raise ValueError(f"{len(spread_s)} boundary spreads for {len(at)} boundaries")
    at_units = phone_units(seg, units)
    llr = [0.0] * len(units)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for p, i in zip(seg.phones, at_units, strict=True):
        llr[i] = CONFIDENCE_SCALE_NATS * float(np.log(max(p.confidence, 1e-3)))
        first.setdefault(p.word, i)
        last[p.word] = i
    return Evidence(units, rows, at, at_units, llr,
                    [(first[w], last[w]) for w in sorted(first)], np.asarray(spread_s, float))


def correct(seg: Segmentation, found: Evidence, model: BoundaryModel) -> Segmentation:
    """``seg`` with its boundaries corrected and its phones' and words'
    confidences replaced by the calibrated probabilities that both their
    boundaries lie within :data:`RIGHT_WITHIN_S` of a careful labeller's."""
    shifts = model.shifts(found.rows)
    unit_rows = phone_features(found.rows, found.at, shifts, found.units, found.llr,
                               model.boundary_scores(found.rows, shifts))
    phone_p = model.phone_probability(unit_rows)
    word_p = iter(model.word_probability(word_features(unit_rows, found.words)))
    # The calibrators learned from words that were spoken; in a word the audio
    # fits badly (an unspoken transcript word, say) phones and word keep its low fit.
    fit = [w.confidence for w in seg.words]

    def kept(p: float, word: int) -> float:
        return round(p if fit[word] >= LOW_CONFIDENCE else min(p, fit[word]), 3)

    corrected = with_units(seg, moved(found.units, found.at, shifts), found.phone_units)
    phones = [replace(p, confidence=kept(float(phone_p[i]), p.word))
              for p, i in zip(corrected.phones, found.phone_units, strict=True)]
    words = [replace(w, confidence=kept(float(next(word_p)), k)) if w.found else w
             for k, w in enumerate(corrected.words)]
    return replace(corrected, phones=phones, words=words)
