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

from vowelseg.hmm.model import AcousticModel, component_log_likelihoods, logsumexp_last


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
        n_phones, n_states, n_mix, dim = model.means.shape
        c = n_phones * n_states
        return cls(np.zeros((c, n_mix)), np.zeros((c, n_mix, dim)), np.zeros((c, n_mix, dim)))


def accumulate(stats: Stats, model: AcousticModel, feats: np.ndarray, columns: np.ndarray) -> None:
    """Add frames whose state column is known (``columns[t]``; -1 skips the frame)."""
    keep = columns >= 0
    x, cols = feats[keep].astype(np.float64), columns[keep]
    if not len(x):
        return
    comp = component_log_likelihoods(model, x)[np.arange(len(x)), cols]  # (T, M)
    gamma = np.exp(comp - logsumexp_last(comp)[:, None])
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
    n_cols, n_mix, dim = shape[0] * shape[1], shape[2], shape[3]
    mu0 = model.means.reshape(n_cols, n_mix, dim)
    var0 = model.variances.reshape(n_cols, n_mix, dim)
    w0 = model.weights.reshape(n_cols, n_mix)
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


def segment_state_path(loglik: np.ndarray, stay_logprob: np.ndarray) -> np.ndarray:
    """Best left-to-right state sequence through one phone's frames.

    Parameters
    ----------
    loglik : np.ndarray
        ``(n_frames, n_states)`` state log-likelihoods of the segment.
    stay_logprob : np.ndarray
        ``(n_states,)``.

    Returns
    -------
    np.ndarray
        State index per frame, starting in state 0 and ending in the last
        state when the segment is long enough; otherwise an even split.
    """
    n, s = loglik.shape
    if n < s:
        return (np.arange(n) * s) // n
    leave = np.log1p(-np.exp(np.minimum(stay_logprob, -1e-6)))
    score = np.full(s, -np.inf)
    score[0] = loglik[0, 0]
    back = np.zeros((n, s), dtype=np.int64)
    for t in range(1, n):
        stay = score + stay_logprob
        move = np.concatenate([[-np.inf], score[:-1] + leave[:-1]])
        back[t] = np.where(move > stay, np.arange(s) - 1, np.arange(s))
        score = np.maximum(stay, move) + loglik[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = s - 1
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def label_columns(model: AcousticModel, loglik: np.ndarray,
                  segments: Iterable[tuple[str, int, int]]) -> np.ndarray:
    """State column per frame from phone segments ``(phone, a, b)``; -1 elsewhere."""
    columns = np.full(len(loglik), -1, dtype=np.int64)
    s = model.n_states
    for phone, a, b in segments:
        p = model.index(phone)
        path = segment_state_path(loglik[a:b, p * s:(p + 1) * s], model.stay_logprob[p])
        columns[a:b] = p * s + path
    return columns
