"""MAP adaptation of an acoustic model to labelled frames.

Two uses share it: adapting the synthetic-speech model to real,
hand-labelled speech (the training recipe), and adapting the model's means
to the very recording being aligned, using the first alignment pass as
labels (the transcript is known, so this is supervised).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from vowelseg.hmm.gmm import component_log_likelihoods, log_sum_components
from vowelseg.hmm.model import AcousticModel, even_split, leave_logprob
from vowelseg.hmm.viterbi import StateGraph, chain_graph, viterbi


@dataclasses.dataclass
class Stats:
    """Sufficient statistics per state column and mixture component.

    Attributes
    ----------
    occupancy : np.ndarray
        ``(n_columns, n_mix)`` summed posteriors.
    first, second : np.ndarray
        ``(n_columns, n_mix, dim)`` posterior-weighted sums of x and x**2.
    """

    occupancy: np.ndarray
    first: np.ndarray
    second: np.ndarray

    @classmethod
    def zeros(cls, model: AcousticModel) -> Stats:
        """Empty statistics shaped for ``model``."""
        c, n_mix, dim = model.mixtures.means.shape
        return cls(np.zeros((c, n_mix)), np.zeros((c, n_mix, dim)), np.zeros((c, n_mix, dim)))


def accumulate(stats: Stats, model: AcousticModel, feats: np.ndarray, columns: np.ndarray) -> None:
    """Add frames whose state column is known (``columns[t]``; -1 skips the frame)."""
    keep = columns >= 0
    x, cols = feats[keep].astype(np.float64), columns[keep]
    if not len(x):
        return
    comp = component_log_likelihoods(model.mixtures, x, cols)  # (T, M)
    gamma = np.exp(comp - log_sum_components(comp)[:, None])
    np.add.at(stats.occupancy, cols, gamma)
    np.add.at(stats.first, cols, gamma[:, :, None] * x[:, None, :])
    np.add.at(stats.second, cols, gamma[:, :, None] * (x * x)[:, None, :])


def map_update(model: AcousticModel, stats: Stats, tau: float,
               variances: bool = True, weights: bool = True,
               var_floor: float = 1e-3) -> AcousticModel:
    """Maximum a posteriori re-estimate with the model as prior.

    Each component moves towards its data in proportion to
    ``n / (n + tau)``, ``n`` being its occupancy: well-observed
    components follow the data, unseen ones keep the prior.
    """
    shape = model.means.shape
    prior = model.mixtures
    mu0, var0, w0 = prior.means, prior.variances, prior.weights
    n = stats.occupancy[..., None]
    mu = (tau * mu0 + stats.first) / (tau + n)
    out = {"means": mu.reshape(shape)}
    if variances:
        var = (tau * (var0 + mu0 * mu0) + stats.second) / (tau + n) - mu * mu
        out["variances"] = np.maximum(var, var_floor).reshape(shape)
    if weights:
        total = stats.occupancy.sum(axis=1, keepdims=True)
        w = (tau * w0 + stats.occupancy) / (tau + total)
        out["weights"] = (w / w.sum(axis=1, keepdims=True)).reshape(model.weights.shape)
    return dataclasses.replace(model, **out)


def label_columns(model: AcousticModel, loglik: np.ndarray,
                  segments: Iterable[tuple[str, int, int]]) -> np.ndarray:
    """State column per frame from phone segments ``(phone, a, b)``; -1 elsewhere.

    Each segment's frames go through its phone's states by the best left-to-right
    path (Viterbi, starting in the first state and ending in the last); a segment
    shorter than the phone's states is split evenly.

    Parameters
    ----------
    loglik : np.ndarray
        ``(n_frames, n_columns)`` state log-likelihoods of the utterance.
    segments : iterable of (phone, first_frame, end_frame)
    """
    columns = np.full(len(loglik), -1, dtype=np.int64)
    n_states = model.n_states
    chains: dict[int, StateGraph] = {}
    for phone, a, b in segments:
        p = model.index(phone)
        cols = np.arange(model.n_columns)[model.phone_columns(p)]
        if b - a < n_states:
            columns[a:b] = cols[even_split(b - a, n_states)]
            continue
        if p not in chains:
            stay = model.stay_logprob[p]
            chains[p] = chain_graph(np.arange(n_states), stay, leave_logprob(stay))
        path, _ = viterbi(chains[p], loglik[a:b, cols])
        columns[a:b] = cols[path]
    return columns
