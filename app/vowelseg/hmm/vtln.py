"""Vocal-tract-length normalisation (VTLN): fit the voice to the model.

A longer vocal tract lowers every formant, so the same vowel of a man, a woman
and a child sits at different frequencies, and a model trained on a few voices
fits some far worse than others. VTLN (Lee & Rose 1998) moves the mel filters
by a factor (:func:`vowelseg.features.mfcc.warp_hz`) chosen per recording by maximum
likelihood: the warp under which the frames, each scored by the model's best
state, are most likely. The recipe (``AdaptConfig.vtln_warps``) stores the grid
in the model (``AcousticModel.vtln_warps``); its HMMs are fitted on unwarped
training voices. Models without a grid are used unwarped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from vowelseg.features.mfcc import features_and_silence, power_spectrogram
from vowelseg.hmm.gmm import state_log_likelihoods
from vowelseg.hmm.model import AcousticModel

#: The default grid: 0.80 to 1.20 in steps of 0.04 (a man's voice to a child's
#: against a model of adults; :func:`choose_warp` hill-climbs from 1, so the
#: far ends cost nothing for the voices that do not need them).
DEFAULT_WARPS: tuple[float, ...] = tuple(round(0.8 + 0.04 * k, 2) for k in range(11))
#: Longest stretch of speech a warp is chosen on, seconds: a longer recording
#: is scored on evenly spaced pieces of this much (:func:`excerpt`).
MAX_SCORED_S = 30.0


def speech_spans(n_samples: int, sample_rate: int,
                 pauses_s: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """Sample ranges between the pauses (e.g. from :func:`vowelseg.audio.vad.find_pauses`),
    so the warp fits the voice rather than the room's noise; the whole signal
    if nothing is left."""
    cuts = sorted((int(a * sample_rate), int(np.ceil(b * sample_rate))) for a, b in pauses_s)
    spans, at = [], 0
    for start, end in cuts:
        if start > at:
            spans.append((at, min(start, n_samples)))
        at = max(at, end)
    if at < n_samples:
        spans.append((at, n_samples))
    spans = [(a, b) for a, b in spans if b > a]
    return spans or [(0, n_samples)]


def excerpt(samples: np.ndarray, sample_rate: int, max_s: float = MAX_SCORED_S,
            piece_s: float = 3.0, spans: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
    """At most ``max_s`` seconds of a signal's ``spans`` (sample ranges; all of
    it by default), joined: all of them if shorter, else evenly spaced pieces
    of ``piece_s`` seconds of their concatenation. Only the result is copied."""
    spans = list(spans or [(0, len(samples))])
    lengths = np.array([b - a for a, b in spans], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    limit = int(max_s * sample_rate)
    if offsets[-1] <= limit:
        return samples if spans == [(0, len(samples))] else np.concatenate(
            [samples[a:b] for a, b in spans])
    piece = int(piece_s * sample_rate)
    count = max(1, limit // piece)
    starts = np.linspace(0, offsets[-1] - piece, count).astype(np.int64)
    joined = (starts[:, None] + np.arange(piece)).ravel()  # positions in the concatenation
    which = np.searchsorted(offsets, joined, side="right") - 1
    return samples[np.array([a for a, _ in spans])[which] + joined - offsets[which]]


def best_state_score(model: AcousticModel, frames: np.ndarray) -> float:
    """Mean, over ``frames`` ``(n, dim)``, of the best state's log-likelihood
    (0 for no frames): how well the model explains them."""
    if not len(frames):
        return 0.0
    return float(state_log_likelihoods(model.mixtures, frames).max(axis=1).mean())


def warp_score(samples: np.ndarray, model: AcousticModel, warp: float,
               power: np.ndarray | None = None) -> float:
    """:func:`best_state_score` of the frames that are not digital silence, the
    features computed with ``warp`` (from ``power``, the samples'
    :func:`~vowelseg.features.mfcc.power_spectrogram`, if given).

    Every frame counts: scoring every third would make the choice depend on
    where the excerpt starts (docs/experiments.md, Accuracy: VTLN).
    """
    feats, silent = features_and_silence(samples, model.features, warp=warp, power=power)
    return best_state_score(model, feats[~silent])


def hill_climb(score: Callable[[float], float], grid: Sequence[float]) -> float:
    """The warp of ``grid`` (sorted) with the highest ``score``, found by
    climbing from the one nearest 1: the score is smooth in the warp, so a
    typical voice costs a few scorings rather than the whole grid
    (docs/experiments.md, Features). Each warp is scored once."""
    scores: dict[int, float] = {}

    def at(i: int) -> float:
        if i not in scores:
            scores[i] = score(grid[i]) if 0 <= i < len(grid) else -np.inf
        return scores[i]

    i = min(range(len(grid)), key=lambda k: abs(grid[k] - 1.0))
    step = 1 if at(i + 1) > max(at(i), at(i - 1)) else -1
    while at(i + step) > at(i):
        i += step
    return float(grid[i])


def choose_warp(samples: np.ndarray, model: AcousticModel,
                warps: Sequence[float] | None = None, max_s: float = MAX_SCORED_S,
                spans: Sequence[tuple[int, int]] | None = None) -> float:
    """The warp, among ``warps`` (default: the model's grid), under which
    ``model`` fits ``samples`` best; 1.0 when there is no grid.

    Parameters
    ----------
    samples : np.ndarray
        Mono signal at ``model.features.sample_rate``.
    model : AcousticModel
        The model the voice is fitted to.
    warps : sequence of float, optional
        Candidate warps (:func:`vowelseg.features.mfcc.warp_hz`).
    max_s : float
        Longest stretch scored, seconds (:func:`excerpt`); a long recording
        gets one warp, chosen on evenly spaced pieces of it.
    spans : sequence of (start, end), optional
        Sample ranges scored (:func:`speech_spans`); all by default.
    """
    grid = sorted(model.vtln_warps if warps is None else warps)
    if not grid:
        return 1.0
    piece = excerpt(samples, model.features.sample_rate, max_s, spans=spans)
    power = power_spectrogram(piece, model.features)  # once: only the mel filters move
    return hill_climb(lambda warp: warp_score(piece, model, warp, power), grid)
