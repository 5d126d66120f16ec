"""Diagonal-Gaussian-mixture state scoring: every emission log-likelihood in
vowelseg (alignment, boundary posteriors, confidences, VTLN, MAP adaptation and
the training recipe's re-alignment) is computed here.

Two ways of evaluating the same densities, each where it is cheapest:

- :func:`state_log_likelihoods`: every frame under every state column, as one
  float32 matrix product per block of frames (features and their squares
  against the stacked means and precisions), then a log-sum over the
  mixture components;
- :func:`component_log_likelihoods` / :func:`column_log_likelihoods`: every
  frame under the one column it is assigned to, in float64 from the squared
  distances (confidences and adaptation statistics, where the precision of
  a single column matters more than speed).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Mixtures:
    """One diagonal-covariance Gaussian mixture per state column.

    Attributes
    ----------
    weights : np.ndarray
        ``(n_columns, n_mix)`` mixture weights (rows sum to 1; 0 for unused
        components).
    means, variances : np.ndarray
        ``(n_columns, n_mix, dim)``.
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    @property
    def n_columns(self) -> int:
        """State columns scored."""
        return int(self.means.shape[0])

    @functools.cached_property
    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(table, const)`` for :func:`state_log_likelihoods`: components ordered
        (mixture, column), so each mixture's block of columns is contiguous;
        ``table`` is ``(2 * dim, n_mix * n_columns)``, float64."""
        n_cols, n_mix, dim = self.means.shape
        mu = self.means.transpose(1, 0, 2).reshape(n_mix * n_cols, dim)
        var = self.variances.transpose(1, 0, 2).reshape(n_mix * n_cols, dim)
        weight = self.weights.T.reshape(-1)
        inv_var = 1.0 / var
        const = (np.log(np.maximum(weight, 1e-30)) - 0.5 * (dim * LOG_2PI + np.log(var).sum(1))
                 - 0.5 * (mu * mu * inv_var).sum(1))
        table = np.concatenate([(mu * inv_var).T, -0.5 * inv_var.T])
        return table, const

    @functools.cached_property
    def _direct(self) -> tuple[np.ndarray, np.ndarray]:
        """``(log_norm, inv_var)`` for the per-column scorers: ``(n_columns, n_mix)``
        log weight plus Gaussian normaliser, and ``(n_columns, n_mix, dim)``
        precisions, float64."""
        dim = self.means.shape[2]
        log_norm = (np.log(np.maximum(self.weights, 1e-30))
                    - 0.5 * (dim * np.log(2 * np.pi) + np.log(self.variances).sum(-1)))
        return log_norm, 1.0 / self.variances


def state_log_likelihoods(mixtures: Mixtures, feats: np.ndarray, block_frames: int = 4096,
                          dtype: type = np.float32) -> np.ndarray:
    """Log-likelihood of every frame under every state column.

    Parameters
    ----------
    mixtures : Mixtures
        The states' mixtures (``AcousticModel.mixtures``).
    feats : np.ndarray
        ``(n_frames, dim)`` features.
    block_frames : int
        Frames scored at a time (bounds the temporary memory).
    dtype : type
        float32 (alignment: faster, docs/experiments.md, GMM scoring) or
        float64 (training, where paths are compared with another library's).

    Returns
    -------
    np.ndarray
        ``(n_frames, n_columns)`` of ``dtype``.
    """
    table, const = (a.astype(dtype) for a in mixtures._dense)
    n_cols, n_mix = mixtures.n_columns, mixtures.means.shape[1]
    out = np.empty((len(feats), n_cols), dtype=dtype)
    for first in range(0, len(feats), block_frames):
        x = np.asarray(feats[first:first + block_frames], dtype=dtype)
        comp = (np.concatenate([x, x * x], axis=1) @ table + const).reshape(len(x), n_mix, n_cols)
        peak = comp.max(axis=1)
        out[first:first + len(x)] = peak + np.log(np.exp(comp - peak[:, None, :]).sum(axis=1))
    return out


def component_log_likelihoods(mixtures: Mixtures, feats: np.ndarray,
                              columns: np.ndarray) -> np.ndarray:
    """Weighted log density of each frame under each component of its own column.

    Parameters
    ----------
    mixtures : Mixtures
    feats : np.ndarray
        ``(n_frames, dim)`` features.
    columns : np.ndarray
        ``(n_frames,)`` int: the state column of each frame, all in range.

    Returns
    -------
    np.ndarray
        ``(n_frames, n_mix)`` float64.
    """
    log_norm, inv_var = mixtures._direct
    x = feats[:, None, :]
    return log_norm[columns] - 0.5 * (((x - mixtures.means[columns]) ** 2)
                                      * inv_var[columns]).sum(-1)


def log_sum_components(comp: np.ndarray) -> np.ndarray:
    """``log(sum(exp(comp), axis=-1))``, computed stably (components to a state)."""
    peak = comp.max(axis=-1)
    return peak + np.log(np.exp(comp - peak[..., None]).sum(axis=-1))


def column_log_likelihoods(mixtures: Mixtures, feats: np.ndarray, columns: np.ndarray,
                           block_frames: int = 8192) -> np.ndarray:
    """Per frame, the log-likelihood under its one state column ``columns[t]``;
    0 where the column is not a state of the mixtures (e.g. the untranscribed
    filler's).

    Returns
    -------
    np.ndarray
        ``(n_frames,)`` float32.
    """
    out = np.zeros(len(feats), dtype=np.float32)
    for first in range(0, len(feats), block_frames):
        cols = columns[first:first + block_frames]
        rows = np.flatnonzero(cols < mixtures.n_columns)
        comp = component_log_likelihoods(mixtures, feats[first + rows], cols[rows])
        out[first + rows] = log_sum_components(comp)
    return out


def one_blas_thread():  # noqa: ANN201 (threadpoolctl.threadpool_limits)
    """Limit this process's BLAS libraries (NumPy's and SciPy's, loaded here
    first: a limit covers only libraries already loaded) to one thread each.
    For processes whose requests or jobs already run side by side (server
    workers, batch and benchmark pools): BLAS threads on top of them fight over
    the cores (docs/experiments.md, GMM scoring). Returns the limit, which as a
    context manager (``with one_blas_thread():``) holds only inside its block."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS)
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)
