"""Forced alignment: Viterbi through the utterance's HMM-state graph.

The graph strings together, for each word, its pronunciation variants as
parallel branches, with an optional pause between words and at both ends.
Every node is one HMM state with a self-loop; edges go forward only. The
Viterbi pass costs O(frames x (nodes + edges)), compiled with numba.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from vowelseg.errors import AlignmentError
from vowelseg.hmm.model import AcousticModel, leave_logprob
from vowelseg.phones import SILENCE, base_phone
from vowelseg.text.g2p import Word

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


GARBAGE = "<untranscribed>"
GARBAGE_WORD = -2
PAUSE_WORD = -1


@dataclass(frozen=True)
class Mismatch:
    """How the graph tolerates a transcript that does not match the speech.

    Attributes
    ----------
    skip_logp : float or None
        Log-probability of leaving out a transcript word that was not spoken
        (None: every word must be aligned).
    garbage_entry_logp : float or None
        Log-probability of entering, between words or at either end, a filler that absorbs
        speech the transcript does not have (None: no filler).
    garbage_frame_logp : float
        The filler scores each frame as the best state of any phone plus this
        (negative), so it wins only where the transcript's phones fit worse.

    The defaults were chosen on synthetic speech (``vowelseg synth-corpus``, then
    ``vowelseg bench-robust --corpus … --skip-logp …``; see the README), not on
    the benchmark's real speech.
    """

    skip_logp: float | None = -60.0
    garbage_entry_logp: float | None = -20.0
    garbage_frame_logp: float = -6.0


STRICT = Mismatch(skip_logp=None, garbage_entry_logp=None)
TOLERANT = Mismatch()


def build_graph(words: list[Word], model: AcousticModel, pause_logp: float = 0.0,
                mismatch: Mismatch = STRICT, min_durations: bool = True) -> AlignmentGraph:
    """The alignment graph of a word sequence.

    Parameters
    ----------
    words : list of Word
        The transcript's words with their pronunciation variants.
    model : AcousticModel
        Supplies the HMM topology (states per phone, transitions).
    pause_logp : float
        Log-probability bonus (negative: penalty) for taking an optional pause.
    mismatch : Mismatch
        Skippable words and an untranscribed-speech filler between words; the
        filler's state uses column ``len(model.phones) * model.n_states`` (see
        :func:`with_garbage`).
    min_durations : bool
        Give each phone at least its ``model.min_frames``: its states get tied
        copies without a self-loop in front (a minimum-duration topology);
        False: one node per state (shortest phone ``n_states`` frames).
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
        total = model.min_frames(model.phones[p]) if min_durations else n_states
        incoming = entry
        for s in range(n_states):
            copies = total // n_states + (s < total % n_states)
            for c in range(copies):  # the copies before the last pass straight on
                node_slot.append(len(slots) - 1)
                node_column.append(p * n_states + s)
                stay.append(float(stay_all[p, s]) if c == copies - 1 else NEG_INF)
                preds.append(incoming)
                incoming = [(len(node_slot) - 1,
                             float(leave_all[p, s]) if c == copies - 1 else 0.0)]
        return incoming[0]

    def add_garbage(entry: list[tuple[int, float]]) -> tuple[int, float]:
        slots.append(PhoneSlot(GARBAGE, GARBAGE_WORD))
        node_slot.append(len(slots) - 1)
        node_column.append(len(model.phones) * n_states)
        stay.append(float(np.log(0.9)))
        preds.append([(n, lp + mismatch.garbage_entry_logp) for n, lp in entry])
        return len(node_slot) - 1, float(np.log(0.1))

    def add_pause(entry: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Between words (and before the first, after the last): an optional
        pause; with the filler, optionally [pause] filler [pause]."""
        def pause(after: list[tuple[int, float]]) -> tuple[int, float]:
            return add_phone(SILENCE, PAUSE_WORD, [(n, lp + pause_logp) for n, lp in after])

        out = entry + [pause(entry)]
        if mismatch.garbage_entry_logp is not None:
            filler = add_garbage(out)
            out += [filler, pause([filler])]
        return out

    reached = add_pause([(START, 0.0)])  # end of the previous word + pause
    skipped: list[tuple[int, float]] = []  # paths that left the previous word out
    exits: list[tuple[int, float]] = []
    for w, word in enumerate(words):
        if w > 0:
            reached = add_pause(exits)
        # A skipped word also skips its pause (never two pauses in a row), and
        # at most one word in a row is skipped (edges stay few).
        frontier = reached + skipped
        exits = []
        for variant in word.pronunciations:
            entry = frontier
            for phone in variant:
                entry = [add_phone(phone, w, entry)]
            exits.extend(entry)
        skipped = ([(n, lp + mismatch.skip_logp) for n, lp in reached]
                   if mismatch.skip_logp is not None else [])
    frontier = (add_pause(exits) if words else reached) + skipped

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


def reach_of(graph: AlignmentGraph) -> np.ndarray:
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


def viterbi_blocks(graph: AlignmentGraph, emissions: Emissions, n_frames: int,
                   beam: float = DEFAULT_BEAM, max_active: int = DEFAULT_MAX_ACTIVE,
                   block_frames: int = BLOCK_FRAMES,
                   trace: list[BackPointers] | None = None) -> tuple[np.ndarray, float]:
    """Beam-pruned Viterbi over frames scored block by block.

    Only states within ``beam`` (natural log) of the frame's best form the
    active band; back-pointers are kept for that band alone, so memory and
    time grow with the number of frames, not frames x graph size.

    Parameters
    ----------
    graph : AlignmentGraph
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
    n = graph.n_nodes
    reach = reach_of(graph)
    score = np.full(n, NEG_INF)
    band = np.zeros(2, dtype=np.int64)
    blocks: list[BackPointers] = []
    for first in range(0, n_frames, block_frames):
        last = min(n_frames, first + block_frames)
        ll = np.ascontiguousarray(emissions(first, last), dtype=np.float64)
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


def viterbi(graph: AlignmentGraph, loglik: np.ndarray, beam: float = np.inf,
            max_active: int | None = None) -> tuple[np.ndarray, float]:
    """Best node for every frame, and the path's log-likelihood.

    Parameters
    ----------
    graph : AlignmentGraph
    loglik : np.ndarray
        ``(n_frames, n_columns)`` state log-likelihoods
        (:func:`vowelseg.hmm.model.state_log_likelihoods`), -inf where a state is
        forbidden at a frame.
    beam, max_active : float, int
        Pruning (see :func:`viterbi_blocks`); exact by default.

    Raises
    ------
    AlignmentError
        If no path through the graph fits the frames.
    """
    return viterbi_blocks(graph, lambda a, b: loglik[a:b], len(loglik), beam,
                          max_active or graph.n_nodes)


def with_garbage(loglik: np.ndarray, model: AcousticModel, frame_logp: float) -> np.ndarray:
    """``loglik`` with the filler's column appended: each frame's best speech
    state plus ``frame_logp``."""
    sil = model.index(SILENCE)
    speech = np.ones(loglik.shape[1], dtype=bool)
    speech[sil * model.n_states:(sil + 1) * model.n_states] = False
    best = loglik[:, speech].max(axis=1, keepdims=True) + np.float32(frame_logp)
    return np.concatenate([loglik, best.astype(loglik.dtype)], axis=1)


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
