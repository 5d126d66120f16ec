"""A transcript's HMM-state graph, which :mod:`vowelseg.hmm.viterbi` searches.

The graph strings together, for each word, its pronunciation variants as
parallel branches, with an optional pause between words and at both ends.
Every node is one HMM state with a self-loop; edges go forward only, so a
Viterbi pass costs O(frames x (nodes + edges)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vowelseg.errors import AlignmentError
from vowelseg.hmm.model import AcousticModel, leave_logprob
from vowelseg.hmm.viterbi import NEG_INF, StateGraph
from vowelseg.phones import SILENCE, base_phone
from vowelseg.text.g2p import Word


@dataclass(frozen=True)
class PhoneSlot:
    """One phone of the graph: a label and the word it belongs to (-1: pause)."""

    phone: str
    word: int


@dataclass(frozen=True)
class AlignmentGraph(StateGraph):
    """The HMM-state graph of a transcript (:func:`build_graph`), with the phone
    each node belongs to.

    Attributes
    ----------
    slots : list of PhoneSlot
        The phones; ``node_slot`` maps every node to one.
    node_slot : np.ndarray
        Per node: its phone slot.
    """

    slots: list[PhoneSlot] = field(default_factory=list)
    node_slot: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


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

    The defaults were chosen on synthetic speech (``vowelseg-lab synth-corpus``, then
    ``vowelseg-lab bench-robust --corpus … --skip-logp …``; docs/experiments.md), not on
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
        filler's state uses ``model.filler_column`` (see
        :func:`vowelseg.align.search.with_garbage`).
    min_durations : bool
        Give each phone at least its ``model.min_frames``: its states get tied
        copies without a self-loop in front (a minimum-duration topology);
        False: one node per state (shortest phone ``n_states`` frames).
    """
    nodes = _Nodes(model, mismatch, pause_logp, min_durations)
    reached = nodes.add_pause([(_START, 0.0)])  # end of the previous word + pause
    skipped: list[tuple[int, float]] = []  # paths that left the previous word out
    exits: list[tuple[int, float]] = []
    for w, word in enumerate(words):
        if w > 0:
            reached = nodes.add_pause(exits)
        # A skipped word also skips its pause (never two pauses in a row), and
        # at most one word in a row is skipped (edges stay few).
        frontier = reached + skipped
        exits = []
        priors = word.log_priors or (0.0,) * len(word.pronunciations)
        for variant, prior in zip(word.pronunciations, priors, strict=True):
            entry = [(n, lp + prior) for n, lp in frontier]
            for phone in variant:
                entry = [nodes.add_phone(phone, w, entry)]
            exits.extend(entry)
        skipped = ([(n, lp + mismatch.skip_logp) for n, lp in reached]
                   if mismatch.skip_logp is not None else [])
    return nodes.graph((nodes.add_pause(exits) if words else reached) + skipped)


#: The graph's entry, as a predecessor.
_START = -1


class _Nodes:
    """The nodes of a graph being built, each with its predecessors
    (``(node, log-probability)``, :data:`_START` for the entry)."""

    def __init__(self, model: AcousticModel, mismatch: Mismatch, pause_logp: float,
                 min_durations: bool) -> None:
        self.model, self.mismatch = model, mismatch
        self.pause_logp, self.min_durations = pause_logp, min_durations
        self.stay_all = model.stay_logprob
        self.leave_all = leave_logprob(self.stay_all)
        self.slots: list[PhoneSlot] = []
        self.node_slot: list[int] = []
        self.node_column: list[int] = []
        self.stay: list[float] = []
        self.preds: list[list[tuple[int, float]]] = []

    def add_phone(self, phone: str, word: int,
                  entry: list[tuple[int, float]]) -> tuple[int, float]:
        """A phone's states after ``entry``; returns its exit."""
        model, n_states = self.model, self.model.n_states
        p = model.index(base_phone(phone))
        self.slots.append(PhoneSlot(phone, word))
        total = model.min_frames(model.phones[p]) if self.min_durations else n_states
        incoming = entry
        for s in range(n_states):
            copies = total // n_states + (s < total % n_states)
            for c in range(copies):  # the copies before the last pass straight on
                self.node_slot.append(len(self.slots) - 1)
                self.node_column.append(model.column(p, s))
                self.stay.append(float(self.stay_all[p, s]) if c == copies - 1 else NEG_INF)
                self.preds.append(incoming)
                incoming = [(len(self.node_slot) - 1,
                             float(self.leave_all[p, s]) if c == copies - 1 else 0.0)]
        return incoming[0]

    def add_garbage(self, entry: list[tuple[int, float]]) -> tuple[int, float]:
        """The untranscribed-speech filler after ``entry``; returns its exit."""
        self.slots.append(PhoneSlot(GARBAGE, GARBAGE_WORD))
        self.node_slot.append(len(self.slots) - 1)
        self.node_column.append(self.model.filler_column)
        self.stay.append(float(np.log(0.9)))
        self.preds.append([(n, lp + self.mismatch.garbage_entry_logp) for n, lp in entry])
        return len(self.node_slot) - 1, float(np.log(0.1))

    def add_pause(self, entry: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Between words (and before the first, after the last): an optional
        pause; with the filler, optionally [pause] filler [pause]."""
        def pause(after: list[tuple[int, float]]) -> tuple[int, float]:
            return self.add_phone(SILENCE, PAUSE_WORD,
                                  [(n, lp + self.pause_logp) for n, lp in after])

        out = entry + [pause(entry)]
        if self.mismatch.garbage_entry_logp is not None:
            filler = self.add_garbage(out)
            out += [filler, pause([filler])]
        return out

    def graph(self, frontier: list[tuple[int, float]]) -> AlignmentGraph:
        """The graph, ending at the nodes of ``frontier``."""
        n = len(self.node_slot)
        start_logp = np.full(n, NEG_INF)
        ptr = np.zeros(n + 1, dtype=np.int64)
        pred_node: list[int] = []
        pred_logp: list[float] = []
        for j, incoming in enumerate(self.preds):
            for i, lp in incoming:
                if i == _START:
                    start_logp[j] = max(start_logp[j], lp)
                else:
                    pred_node.append(i)
                    pred_logp.append(lp)
            ptr[j + 1] = len(pred_node)
        if np.diff(ptr).max(initial=0) > 127:
            raise AlignmentError("a word has too many pronunciation variants to align")
        final = np.zeros(n, dtype=np.bool_)
        for node, _ in frontier:
            if node != _START:
                final[node] = True
        return AlignmentGraph(
            slots=self.slots,
            node_slot=np.array(self.node_slot, dtype=np.int64),
            node_column=np.array(self.node_column, dtype=np.int64),
            stay=np.array(self.stay),
            pred_ptr=ptr,
            pred_node=np.array(pred_node, dtype=np.int64),
            pred_logp=np.array(pred_logp),
            start_logp=start_logp,
            final=final,
        )


def path_segments(graph: AlignmentGraph, path: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of the frame path as ``(slot, first_frame, end_frame)``, end exclusive."""
    slot = graph.node_slot[path]
    cuts = np.flatnonzero(np.diff(slot)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(slot)]])
    return [(int(slot[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
