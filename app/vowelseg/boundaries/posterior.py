"""Boundary placement by posterior expectation on the aligned path.

The Viterbi path says which phones were spoken and roughly where; this stage
moves each boundary between two phones to its expected time under the HMM,
given the audio around it. For the boundary between runs ``i`` and ``i + 1`` of
the path, the states the path visits in ``context_phones`` runs on each side
form a left-to-right chain pinned to the path's frames at both ends; a
forward-backward pass over that window gives, for every frame, the
probability that the chain crosses the boundary there, and the boundary goes
to the mean of that distribution. The emissions are scaled by ``scale`` (< 1
flattens the over-confident frame likelihoods of overlapping 25 ms windows,
so the neighbouring frames' evidence counts). The path's phone sequence and
pauses are kept; only the times move, and stay in order.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from vowelseg.align.alignment import Alignment
from vowelseg.align.graph import GARBAGE_WORD, AlignmentGraph
from vowelseg.align.search import WindowEmissions, window_emissions
from vowelseg.hmm.model import leave_logprob

#: Default scale of the emission log-likelihoods: chosen on synthetic speech with
#: the synthetic-only model (``vowelseg-lab bench --posterior-scale S`` on a
#: ``vowelseg-lab synth-corpus`` folder; docs/experiments.md).
POSTERIOR_SCALE = 0.1
#: Furthest a boundary's window reaches from where the path put it, seconds.
POSTERIOR_REACH_S = 1.0


@numba.njit(cache=True, nogil=True)
def _logadd(a: float, b: float) -> float:  # pragma: no cover
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))


@numba.njit(cache=True, nogil=True)
def crossing_moments(emit: np.ndarray, stay: np.ndarray, leave: np.ndarray,
                     k: int) -> tuple[float, float]:  # pragma: no cover
    """Mean and standard deviation of the frame at which a left-to-right chain,
    in state 0 at frame 0 and in its last state at the last frame, first
    occupies state ``k + 1``; (-1, -1) if the chain cannot fit.

    Parameters
    ----------
    emit : np.ndarray
        ``(n_frames, n_states)`` log emission scores.
    stay, leave : np.ndarray
        Per state, log probability of staying and of moving on.
    k : int
        The state the crossing leaves.
    """
    n_frames, n = emit.shape
    alpha = np.full((n_frames, n), -np.inf)
    beta = np.full((n_frames, n), -np.inf)
    alpha[0, 0] = emit[0, 0]
    for t in range(1, n_frames):
        for j in range(min(n, t + 1)):
            a = alpha[t - 1, j] + stay[j]
            if j > 0:
                a = _logadd(a, alpha[t - 1, j - 1] + leave[j - 1])
            alpha[t, j] = a + emit[t, j]
    beta[n_frames - 1, n - 1] = 0.0
    for t in range(n_frames - 2, -1, -1):
        for j in range(n):
            b = beta[t + 1, j] + emit[t + 1, j] + stay[j]
            if j + 1 < n:
                b = _logadd(b, beta[t + 1, j + 1] + emit[t + 1, j + 1] + leave[j])
            beta[t, j] = b
    xi = np.full(n_frames, -np.inf)
    peak = -np.inf
    for t in range(1, n_frames):
        xi[t] = alpha[t - 1, k] + leave[k] + emit[t, k + 1] + beta[t, k + 1]
        peak = max(peak, xi[t])
    if peak == -np.inf:
        return -1.0, -1.0
    total = 0.0
    mean = 0.0
    for t in range(1, n_frames):
        p = np.exp(xi[t] - peak)
        total += p
        mean += p * t
    mean /= total
    spread = 0.0
    for t in range(1, n_frames):
        spread += np.exp(xi[t] - peak) * (t - mean) ** 2
    return mean, np.sqrt(spread / total)


def boundary_posteriors(graph: AlignmentGraph, path: np.ndarray,
                        emissions: WindowEmissions, scale: float, context_phones: int = 2,
                        reach_frames: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Posterior-mean start frame of every run of the path, and the posterior's
    standard deviation there (how sure the model is of the boundary's place:
    evidence for the boundary model's calibrators).

    Parameters
    ----------
    graph, path : AlignmentGraph, np.ndarray
        The Viterbi alignment (node per frame).
    emissions : WindowEmissions
        State log-likelihoods of a window of frames.
    scale : float
        Factor on the emission log-likelihoods (the transitions keep theirs).
    context_phones : int
        Runs on each side of a boundary whose states form its window.
    reach_frames : int
        The window never reaches further than this from the path's boundary
        (a long pause is cut there, pinned to the state the path is in), so
        its cost and memory are bounded whatever the recording.

    Returns
    -------
    starts : np.ndarray
        Per run (as :func:`vowelseg.align.graph.path_segments` lists them), its start
        frame as a float: run 0 starts at 0; a boundary touching the
        untranscribed filler, or one whose window cannot fit, keeps the
        path's frame. Every run keeps at least one frame.
    spreads : np.ndarray
        Per run, the standard deviation of its start, frames (NaN where the
        start is the path's).
    """
    cuts = np.flatnonzero(np.diff(path)) + 1
    node_start = np.concatenate([[0], cuts])
    node_end = np.concatenate([cuts, [len(path)]])
    nodes = path[node_start]
    slot = graph.node_slot[nodes]
    run_first = np.concatenate([[0], np.flatnonzero(np.diff(slot)) + 1])  # first node of each run
    run_last = np.concatenate([run_first[1:], [len(nodes)]]) - 1
    garbage = np.array([graph.slots[s].word == GARBAGE_WORD for s in slot[run_first]])
    stay = graph.stay[nodes].astype(np.float64)
    leave = leave_logprob(graph.stay[nodes]).astype(np.float64)
    out = node_start[run_first].astype(np.float64)
    spreads = np.full(len(out), np.nan)
    n_runs = len(run_first)
    for i in range(n_runs - 1):
        left, right = max(0, i - context_phones + 1), min(n_runs - 1, i + context_phones)
        if garbage[left:right + 1].any():
            continue
        cut = int(node_start[run_first[i + 1]])
        first = max(int(node_start[run_first[left]]), cut - reach_frames)
        end = min(int(node_end[run_last[right]]), cut + reach_frames)
        lo = int(np.searchsorted(node_start, first, side="right")) - 1
        hi = int(np.searchsorted(node_start, end - 1, side="right"))
        emit = scale * emissions(first, end, graph.node_column[nodes[lo:hi]]).astype(np.float64)
        t, spread = crossing_moments(emit, stay[lo:hi], leave[lo:hi], int(run_last[i] - lo))
        if t >= 0:
            out[i + 1] = first + t
            spreads[i + 1] = spread
    return _ordered(out, len(path)), spreads


def placed(alignment: Alignment, scale: float = POSTERIOR_SCALE) -> Alignment:
    """``alignment`` with every run's start at its posterior mean and the
    posterior's spread there (:func:`boundary_posteriors`), scored by the
    model and the pause mask the path was found with."""
    scores = window_emissions(alignment.scorer, alignment.pause_mask,
                              known=alignment.kept_scores)
    starts, spreads = boundary_posteriors(
        alignment.graph, alignment.path, scores, scale,
        reach_frames=round(POSTERIOR_REACH_S / alignment.hop_s))
    return dataclasses.replace(alignment, starts=starts, spreads=spreads)


def _ordered(starts: np.ndarray, n_frames: int) -> np.ndarray:
    """Starts moved as little as needed for every run to keep at least a frame
    (each boundary was placed in its own window, so two can cross)."""
    out = starts.copy()
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + 1.0)
    end = float(n_frames)
    for i in range(len(out) - 1, 0, -1):
        out[i] = min(out[i], end - 1.0)
        end = out[i]
    return out
