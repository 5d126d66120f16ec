"""The one Viterbi search: a beam-pruned, banded pass over a left-to-right
HMM-state graph, used for alignment (:mod:`vowelseg.align`), MAP adaptation
(:mod:`vowelseg.hmm.adapt`) and the training recipe's state re-alignment.

A graph is plain arrays (:class:`StateGraph`): one node per HMM state, with a
self-loop and incoming edges from earlier nodes only (CSR form). Frames are
scored block by block by a caller's ``emissions`` function; only the states
within the beam of each frame's best form the active band, and back-pointers
are kept for that band alone, so memory and time grow with the number of
frames rather than frames x graph size. The hot loops are private numba
kernels; :func:`viterbi_blocks` and :func:`viterbi` are their checked wrappers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from vowelseg.errors import AlignmentError

NEG_INF = -np.inf


@dataclass(frozen=True)
class StateGraph:
    """A left-to-right HMM-state graph.

    Attributes
    ----------
    node_column : np.ndarray
        Per node: its column in the state log-likelihood matrix.
    stay : np.ndarray
        Per node: self-loop log probability (-inf: none).
    pred_ptr, pred_node, pred_logp : np.ndarray
        Incoming edges in CSR form: node ``j``'s predecessors are
        ``pred_node[pred_ptr[j]:pred_ptr[j+1]]`` (all ``< j``), with log
        probabilities ``pred_logp[...]``; at most 127 per node.
    start_logp, final : np.ndarray
        Per node: log probability of starting there (-inf: cannot), and
        whether the path may end there.
    """

    node_column: np.ndarray
    stay: np.ndarray
    pred_ptr: np.ndarray
    pred_node: np.ndarray
    pred_logp: np.ndarray
    start_logp: np.ndarray
    final: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Graph size in HMM states."""
        return len(self.node_column)


def chain_graph(columns: np.ndarray, stay: np.ndarray, move: np.ndarray,
                end_anywhere: bool = False) -> StateGraph:
    """A single left-to-right chain (one phone's states, say).

    Parameters
    ----------
    columns : np.ndarray
        ``(n,)`` score-matrix column of each state.
    stay : np.ndarray
        ``(n,)`` self-loop log probabilities.
    move : np.ndarray
        ``(n,)`` log probability of moving from each state to the next (the
        last entry is unused).
    end_anywhere : bool
        The path may end in any state; by default only in the last.
    """
    n = len(columns)
    start = np.full(n, NEG_INF)
    start[0] = 0.0
    final = np.ones(n, dtype=np.bool_) if end_anywhere else np.arange(n) == n - 1
    return StateGraph(
        node_column=np.asarray(columns, dtype=np.int64),
        stay=np.asarray(stay, dtype=np.float64),
        pred_ptr=np.concatenate([[0], np.arange(n)]).astype(np.int64),
        pred_node=np.arange(n - 1, dtype=np.int64),
        pred_logp=np.asarray(move[:-1], dtype=np.float64),
        start_logp=start,
        final=final,
    )


Emissions = Callable[[int, int], np.ndarray]
"""``emissions(first, last)``: state log-likelihoods of frames ``first:last``,
shape ``(last - first, n_columns)``, -inf where a state is forbidden."""

DEFAULT_BEAM = 400.0
DEFAULT_MAX_ACTIVE = 20000
BLOCK_FRAMES = 4096


@dataclass(frozen=True)
class BackPointers:
    """Back-pointers of one block of frames, kept for the active band only.

    Frame ``first + i`` stores, for nodes ``lo[i] .. lo[i] + (offset[i+1] -
    offset[i]) - 1``, 0 (came from itself) or ``k`` (its ``k-1``-th predecessor).
    """

    first: int
    lo: np.ndarray
    offset: np.ndarray
    back: np.ndarray

    @property
    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return self.lo.nbytes + self.offset.nbytes + self.back.nbytes


@numba.njit(cache=True, nogil=True)
def _beam_block(ll, column, stay, ptr, pred, pred_lp, reach, start_lp, score, band,
                beam, max_active, first_frame):  # pragma: no cover
    # score: per node, -inf outside band[0]..band[1] (the previous frame's active band).
    n_frames = ll.shape[0]
    n = column.shape[0]
    lo_out = np.zeros(n_frames, dtype=np.int64)
    offset = np.zeros(n_frames + 1, dtype=np.int64)
    back = np.empty(max(1024, 64 * n_frames), dtype=np.int8)
    cur = np.empty(n)
    arg = np.zeros(n, dtype=np.int8)
    for i in range(n_frames):
        lo, hi = band[0], band[1]
        if first_frame and i == 0:
            clo, chi = 0, n - 1
            for j in range(n):
                cur[j] = start_lp[j] + ll[0, column[j]]
                arg[j] = 0
        else:
            clo, chi = lo, reach[hi]
            for j in range(clo, chi + 1):
                best = score[j] + stay[j]
                a = 0
                for k in range(ptr[j], ptr[j + 1]):
                    v = score[pred[k]] + pred_lp[k]
                    if v > best:
                        best = v
                        a = k - ptr[j] + 1
                cur[j] = best + ll[i, column[j]]
                arg[j] = a
        top = -np.inf
        at = clo
        for j in range(clo, chi + 1):
            if cur[j] > top:
                top = cur[j]
                at = j
        for j in range(lo, hi + 1):
            score[j] = -np.inf
        if top == -np.inf:  # nothing fits this frame: report failure
            band[0], band[1] = 1, 0
            return lo_out[:i], offset[:i + 1], back[:offset[i]], False
        nlo, nhi = at, at
        for j in range(clo, at):
            if cur[j] >= top - beam:
                nlo = j
                break
        for j in range(chi, at, -1):
            if cur[j] >= top - beam:
                nhi = j
                break
        while nhi - nlo + 1 > max_active:
            if at - nlo > nhi - at:
                nlo += 1
            else:
                nhi -= 1
        for j in range(nlo, nhi + 1):
            score[j] = cur[j]
        band[0], band[1] = nlo, nhi
        width = nhi - nlo + 1
        if offset[i] + width > back.shape[0]:
            grown = np.empty(2 * back.shape[0] + width, dtype=np.int8)
            grown[:offset[i]] = back[:offset[i]]
            back = grown
        for j in range(nlo, nhi + 1):
            back[offset[i] + j - nlo] = arg[j]
        lo_out[i] = nlo
        offset[i + 1] = offset[i] + width
    return lo_out, offset, back[:offset[n_frames]].copy(), True


@numba.njit(cache=True, nogil=True)
def _backtrack_block(path, first, lo, offset, back, ptr, pred):  # pragma: no cover
    # Fills path[first - 1 .. first + len(lo) - 2] from path[first + len(lo) - 1].
    for i in range(lo.shape[0] - 1, -1, -1):
        t = first + i
        if t == 0:
            break
        j = path[t]
        k = back[offset[i] + j - lo[i]]
        path[t - 1] = j if k == 0 else pred[ptr[j] + k - 1]


def _check(graph: StateGraph) -> None:
    """Refuse arrays the kernels would read out of bounds or misread."""
    n = graph.n_nodes
    sizes = {"stay": len(graph.stay), "start_logp": len(graph.start_logp),
             "final": len(graph.final), "pred_ptr": len(graph.pred_ptr) - 1}
    if any(size != n for size in sizes.values()):
        raise ValueError(f"state graph arrays disagree on the node count {n}: {sizes}")
    if len(graph.pred_node) != len(graph.pred_logp) or graph.pred_ptr[-1] != len(graph.pred_node):
        raise ValueError("state graph edges: pred_ptr, pred_node and pred_logp disagree")
    if np.diff(graph.pred_ptr).max(initial=0) > 127:
        raise ValueError("a state graph node has more than 127 predecessors")
    if len(graph.pred_node):
        target = np.repeat(np.arange(n), np.diff(graph.pred_ptr))
        if (graph.pred_node >= target).any() or graph.pred_node.min() < 0:
            raise ValueError("state graph edges must go forward (predecessor < node)")


def reach_of(graph: StateGraph) -> np.ndarray:
    """Per node ``i``: the highest node that may follow a band ending at ``i``
    one frame later (edges only go forward, so the band can only grow this far)."""
    n = graph.n_nodes
    counts = np.diff(graph.pred_ptr)
    min_pred = np.arange(n)
    has = counts > 0
    min_pred[has] = np.minimum.reduceat(graph.pred_node, graph.pred_ptr[:-1][has])
    reach = np.arange(n)
    np.maximum.at(reach, min_pred, np.arange(n))
    return np.maximum.accumulate(reach)


def viterbi_blocks(graph: StateGraph, emissions: Emissions, n_frames: int,
                   beam: float = DEFAULT_BEAM, max_active: int = DEFAULT_MAX_ACTIVE,
                   block_frames: int = BLOCK_FRAMES,
                   trace: list[BackPointers] | None = None) -> tuple[np.ndarray, float]:
    """Beam-pruned Viterbi over frames scored block by block.

    Only states within ``beam`` (natural log) of the frame's best form the
    active band; back-pointers are kept for that band alone, so memory and
    time grow with the number of frames, not frames x graph size.

    Parameters
    ----------
    graph : StateGraph
    emissions : callable
        ``emissions(first, last)`` -> ``(last - first, n_columns)`` state
        log-likelihoods (-inf where forbidden).
    n_frames : int
        Frames in the utterance.
    beam : float
        Pruning beam, log-likelihood units; ``inf`` for exact Viterbi.
    max_active : int
        Most states kept active at any frame.
    block_frames : int
        Frames scored at a time.
    trace : list, optional
        Receives the back-pointer blocks (to measure the memory they held).

    Raises
    ------
    AlignmentError
        If no path within the beam fits the frames.
    """
    _check(graph)
    n = graph.n_nodes
    n_columns = int(graph.node_column.max(initial=-1)) + 1
    reach = reach_of(graph)
    score = np.full(n, NEG_INF)
    band = np.zeros(2, dtype=np.int64)
    blocks: list[BackPointers] = []
    for first in range(0, n_frames, block_frames):
        last = min(n_frames, first + block_frames)
        ll = np.ascontiguousarray(emissions(first, last), dtype=np.float64)
        if ll.ndim != 2 or ll.shape[0] != last - first or ll.shape[1] < n_columns:
            raise ValueError(f"emissions({first}, {last}) gave shape {ll.shape}: expected "
                             f"({last - first}, >= {n_columns}) for this graph's columns")
        lo, offset, back, ok = _beam_block(
            ll, graph.node_column, graph.stay, graph.pred_ptr, graph.pred_node,
            graph.pred_logp, reach, graph.start_logp, score, band, float(beam),
            int(max_active), first == 0,
        )
        if not ok:
            raise AlignmentError("the transcript does not fit the audio (no alignment path)")
        blocks.append(BackPointers(first, lo, offset, back))
    if trace is not None:
        trace.extend(blocks)
    finals = np.flatnonzero(graph.final & np.isfinite(score))
    if len(finals) == 0:
        raise AlignmentError("the transcript does not fit the audio (no alignment path)")
    end = int(finals[np.argmax(score[finals])])
    path = np.empty(n_frames, dtype=np.int64)
    path[-1] = end
    for block in reversed(blocks):
        _backtrack_block(path, block.first, block.lo, block.offset, block.back,
                         graph.pred_ptr, graph.pred_node)
    return path, float(score[end])


def viterbi(graph: StateGraph, loglik: np.ndarray, beam: float = np.inf,
            max_active: int | None = None) -> tuple[np.ndarray, float]:
    """Best node for every frame, and the path's log-likelihood.

    Parameters
    ----------
    graph : StateGraph
    loglik : np.ndarray
        ``(n_frames, n_columns)`` state log-likelihoods
        (:func:`vowelseg.hmm.gmm.state_log_likelihoods`), -inf where a state is
        forbidden at a frame; every ``graph.node_column`` must be a column.
    beam, max_active : float, int
        Pruning (see :func:`viterbi_blocks`); exact by default.

    Raises
    ------
    AlignmentError
        If no path through the graph fits the frames.
    """
    return viterbi_blocks(graph, lambda a, b: loglik[a:b], len(loglik), beam,
                          max_active or graph.n_nodes)
