"""Vocal-tract-length normalisation (VTLN): fit the voice to the model.

A longer vocal tract lowers every formant, so the same vowel of a man, a woman
and a child sits at different frequencies, and a model trained on a few voices
fits some far worse than others. VTLN (Lee & Rose 1998) moves the mel filters
by a factor (:func:`app.features.warp_hz`) chosen per recording by maximum
likelihood: the warp under which the frames, each scored by the model's best
state, are most likely. The recipe (``AdaptConfig.vtln_warps``) stores the grid
in the model (``AcousticModel.vtln_warps``); its HMMs are fitted on unwarped
training voices. Models without a grid are used unwarped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .features import features_and_silence
from .model import AcousticModel, state_log_likelihoods

#: The default grid: 0.80 to 1.20 in steps of 0.04 (a man's voice to a child's
#: against a model of adults; :func:`choose_warp` hill-climbs from 1, so the
#: far ends cost nothing for the voices that do not need them).
DEFAULT_WARPS: tuple[float, ...] = tuple(round(0.8 + 0.04 * k, 2) for k in range(11))


def speech_only(samples: np.ndarray, sample_rate: int,
                pauses_s: Sequence[tuple[float, float]]) -> np.ndarray:
    """The signal with its pauses (e.g. from :func:`app.vad.find_pauses`) cut
    out, so the warp fits the voice rather than the room's noise; the whole
    signal if nothing is left."""
    keep = np.ones(len(samples), dtype=bool)
    for start_s, end_s in pauses_s:
        keep[int(start_s * sample_rate):int(np.ceil(end_s * sample_rate))] = False
    return samples[keep] if keep.any() else samples


def excerpt(samples: np.ndarray, sample_rate: int, max_s: float = 30.0,
            piece_s: float = 3.0) -> np.ndarray:
    """At most ``max_s`` seconds of a signal: all of it if shorter, else
    evenly spaced pieces of ``piece_s`` seconds, joined."""
    limit = int(max_s * sample_rate)
    if len(samples) <= limit:
        return samples
    piece = int(piece_s * sample_rate)
    count = max(1, limit // piece)
    starts = np.linspace(0, len(samples) - piece, count).astype(np.int64)
    return np.concatenate([samples[a:a + piece] for a in starts])


def warp_score(samples: np.ndarray, model: AcousticModel, warp: float,
               frame_step: int = 3) -> float:
    """Mean, over every ``frame_step``-th frame that is not digital silence, of
    the best state's log-likelihood, the features computed with ``warp``."""
    feats, silent = features_and_silence(samples, model.features, warp=warp)
    frames = feats[~silent][::frame_step]
    if not len(frames):
        return 0.0
    return float(state_log_likelihoods(model, frames).max(axis=1).mean())


def choose_warp(samples: np.ndarray, model: AcousticModel,
                warps: Sequence[float] | None = None, max_s: float = 30.0) -> float:
    """The warp, among ``warps`` (default: the model's grid), under which
    ``model`` fits ``samples`` best; 1.0 when there is no grid.

    Parameters
    ----------
    samples : np.ndarray
        Mono signal at ``model.features.sample_rate``.
    model : AcousticModel
        The model the voice is fitted to.
    warps : sequence of float, optional
        Candidate warps (:func:`app.features.warp_hz`).
    max_s : float
        Longest stretch scored, seconds (:func:`excerpt`); a long recording
        gets one warp, chosen on evenly spaced pieces of it.
    """
    grid = sorted(model.vtln_warps if warps is None else warps)
    if not grid:
        return 1.0
    piece = excerpt(samples, model.features.sample_rate, max_s)
    scores: dict[int, float] = {}

    def score(i: int) -> float:
        if i not in scores:
            scores[i] = warp_score(piece, model, grid[i]) if 0 <= i < len(grid) else -np.inf
        return scores[i]

    # hill-climb from the warp nearest 1 (the score is smooth in the warp), so
    # a typical voice costs 3-5 scorings rather than the whole grid
    i = min(range(len(grid)), key=lambda k: abs(grid[k] - 1.0))
    step = 1 if score(i + 1) > max(score(i), score(i - 1)) else -1
    while score(i + step) > score(i):
        i += step
    return float(grid[i])
