"""Forced alignment: Viterbi through the utterance's HMM-state graph.

The graph strings together, for each word, its pronunciation variants as
parallel branches, with an optional pause between words and at both ends.
Every node is one HMM state with a self-loop; edges go forward only. The
Viterbi pass costs O(frames x (nodes + edges)), compiled with numba.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .errors import AlignmentError
from .g2p import Word
from .model import AcousticModel, leave_logprob
from .phones import SILENCE, base_phone

NEG_INF = -np.inf


@dataclass(frozen=True)
class PhoneSlot:
    """One phone of the graph: a label and the word it belongs to (-1: pause)."""

    phone: str
    word: int


@dataclass(frozen=True)
class AlignmentGraph:
    """Flattened HMM-state graph.

    Attributes
    ----------
    slots : list of PhoneSlot
        The phones; ``node_slot`` maps every node to one.
    node_slot, node_column : np.ndarray
        Per node: its phone slot, and its column in the state
        log-likelihood matrix.
    stay : np.ndarray
        Per node: self-loop log probability.
    pred_ptr, pred_node, pred_logp : np.ndarray
        Incoming edges in CSR form: node ``j``'s predecessors are
        ``pred_node[pred_ptr[j]:pred_ptr[j+1]]``.
    start_logp, final : np.ndarray
        Per node: log probability of starting there (-inf: cannot), and
        whether the path may end there.
    """

    slots: list[PhoneSlot]
    node_slot: np.ndarray
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
        return len(self.node_slot)


def build_graph(words: list[Word], model: AcousticModel, pause_logp: float = 0.0) -> AlignmentGraph:
    """The alignment graph of a word sequence.

    Parameters
    ----------
    words : list of Word
        The transcript's words with their pronunciation variants.
    model : AcousticModel
        Supplies the HMM topology (states per phone, transitions).
    pause_logp : float
        Log-probability bonus (negative: penalty) for taking an optional pause.
    """
    n_states = model.n_states
    stay_all = model.stay_logprob
    leave_all = leave_logprob(stay_all)
    slots: list[PhoneSlot] = []
    node_slot: list[int] = []
    node_column: list[int] = []
    stay: list[float] = []
    preds: list[list[tuple[int, float]]] = []
    START = -1

    def add_phone(phone: str, word: int, entry: list[tuple[int, float]]) -> tuple[int, float]:
        p = model.index(base_phone(phone))
        slots.append(PhoneSlot(phone, word))
        first = len(node_slot)
        for s in range(n_states):
            node_slot.append(len(slots) - 1)
            node_column.append(p * n_states + s)
            stay.append(float(stay_all[p, s]))
            preds.append(entry if s == 0 else [(first + s - 1, float(leave_all[p, s - 1]))])
        return first + n_states - 1, float(leave_all[p, n_states - 1])

    def add_pause(entry: list[tuple[int, float]]) -> list[tuple[int, float]]:
        shifted = [(n, lp + pause_logp) for n, lp in entry]
        return entry + [add_phone(SILENCE, -1, shifted)]

    frontier: list[tuple[int, float]] = add_pause([(START, 0.0)])
    for w, word in enumerate(words):
        if w > 0:
            frontier = add_pause(frontier)
        exits = []
        for variant in word.pronunciations:
            entry = frontier
            for phone in variant:
                entry = [add_phone(phone, w, entry)]
            exits.extend(entry)
        frontier = exits
    frontier = add_pause(frontier)

    n = len(node_slot)
    start_logp = np.full(n, NEG_INF)
    ptr = np.zeros(n + 1, dtype=np.int64)
    pred_node: list[int] = []
    pred_logp: list[float] = []
    for j, incoming in enumerate(preds):
        for i, lp in incoming:
            if i == START:
                start_logp[j] = max(start_logp[j], lp)
            else:
                pred_node.append(i)
                pred_logp.append(lp)
        ptr[j + 1] = len(pred_node)
    if np.diff(ptr).max(initial=0) > 127:
        raise AlignmentError("a word has too many pronunciation variants to align")
    final = np.zeros(n, dtype=np.bool_)
    for node, _ in frontier:
        if node != START:
            final[node] = True
    return AlignmentGraph(
        slots=slots,
        node_slot=np.array(node_slot, dtype=np.int64),
        node_column=np.array(node_column, dtype=np.int64),
        stay=np.array(stay),
        pred_ptr=ptr,
        pred_node=np.array(pred_node, dtype=np.int64),
        pred_logp=np.array(pred_logp),
        start_logp=start_logp,
        final=final,
    )


@numba.njit(cache=True, nogil=True)
def _viterbi(loglik, column, stay, ptr, pred, pred_lp, start_lp, final):  # pragma: no cover
    # back[t, j] = 0: came from j itself; k > 0: from its (k-1)-th predecessor.
    n_frames = loglik.shape[0]
    n = column.shape[0]
    back = np.zeros((n_frames, n), dtype=np.int8)
    prev = np.empty(n)
    cur = np.empty(n)
    for j in range(n):
        prev[j] = start_lp[j] + loglik[0, column[j]]
    for t in range(1, n_frames):
        for j in range(n):
            best = prev[j] + stay[j]
            arg = 0
            for k in range(ptr[j], ptr[j + 1]):
                v = prev[pred[k]] + pred_lp[k]
                if v > best:
                    best = v
                    arg = k - ptr[j] + 1
            cur[j] = best + loglik[t, column[j]]
            back[t, j] = arg
        prev, cur = cur, prev
    end = -1
    best = -np.inf
    for j in range(n):
        if final[j] and prev[j] > best:
            best = prev[j]
            end = j
    path = np.empty(n_frames, dtype=np.int64)
    if end < 0:
        return path, best
    path[n_frames - 1] = end
    for t in range(n_frames - 1, 0, -1):
        j = path[t]
        k = back[t, j]
        path[t - 1] = j if k == 0 else pred[ptr[j] + k - 1]
    return path, best


def viterbi(graph: AlignmentGraph, loglik: np.ndarray) -> tuple[np.ndarray, float]:
    """Best node for every frame, and the path's log-likelihood.

    Parameters
    ----------
    graph : AlignmentGraph
    loglik : np.ndarray
        ``(n_frames, n_columns)`` state log-likelihoods
        (:func:`app.model.state_log_likelihoods`), -inf where a state is
        forbidden at a frame.

    Raises
    ------
    AlignmentError
        If no path through the graph fits the frames.
    """
    path, score = _viterbi(
        np.ascontiguousarray(loglik, dtype=np.float64), graph.node_column, graph.stay,
        graph.pred_ptr, graph.pred_node, graph.pred_logp, graph.start_logp, graph.final,
    )
    if not np.isfinite(score):
        raise AlignmentError("the transcript does not fit the audio (no alignment path)")
    return path, float(score)


def forbid_speech(loglik: np.ndarray, model: AcousticModel, frames: np.ndarray) -> np.ndarray:
    """Copy of ``loglik`` where only silence states may occupy ``frames`` (bool mask)."""
    out = loglik.copy()
    sil = model.index(SILENCE)
    keep = np.zeros(out.shape[1], dtype=bool)
    keep[sil * model.n_states:(sil + 1) * model.n_states] = True
    out[np.ix_(frames, ~keep)] = NEG_INF
    return out


def path_segments(graph: AlignmentGraph, path: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of the frame path as ``(slot, first_frame, end_frame)``, end exclusive."""
    slot = graph.node_slot[path]
    cuts = np.flatnonzero(np.diff(slot)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(slot)]])
    return [(int(slot[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
