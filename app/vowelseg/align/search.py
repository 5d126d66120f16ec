"""The alignment search: state scores of the frames, masked by the VAD's pauses,
and the Viterbi path through a transcript's graph (:mod:`vowelseg.align.graph`),
with the fall-backs that keep a hard recording alignable."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from vowelseg.align.graph import AlignmentGraph, Mismatch, build_graph
from vowelseg.errors import AlignmentError
from vowelseg.hmm.gmm import state_log_likelihoods
from vowelseg.hmm.model import AcousticModel
from vowelseg.hmm.viterbi import BLOCK_FRAMES, DEFAULT_BEAM, NEG_INF, Emissions, viterbi_blocks
from vowelseg.text.g2p import Word

#: Largest exact (unpruned) Viterbi tried when the pruned one finds no path.
EXACT_SEARCH_BYTES = 200_000_000

#: ``(first_frame, end_frame, columns) -> (end_frame - first_frame, len(columns))``
#: state log-likelihoods, with the same masking as the Viterbi search had.
WindowEmissions = Callable[[int, int, np.ndarray], np.ndarray]

KEEP_SCORES_FRAMES = 4 * BLOCK_FRAMES
"""Recordings up to this many frames (82 s at 5 ms; about 8 MB of scores) keep the
Viterbi search's state scores for the boundary posteriors instead of scoring again."""


@dataclass(frozen=True)
class FrameScorer:
    """What the search scores: a recording's features under a model (the frames' evidence).

    Attributes
    ----------
    model : AcousticModel
    feats : np.ndarray
        ``(n_frames, dim)`` features.
    silent : np.ndarray or None
        ``(n_frames,)`` bool: digital silence, no acoustic evidence; such
        frames score 0 in every state, so no phone gains or loses by covering
        them.
    filler_frame_logp : float or None
        Append the untranscribed-speech filler's column, scoring each frame as
        its best speech state plus this (:func:`with_garbage`); None: no filler.
    """

    model: AcousticModel
    feats: np.ndarray
    silent: np.ndarray | None = None
    filler_frame_logp: float | None = None

    @property
    def n_frames(self) -> int:
        """Frames in the recording."""
        return len(self.feats)


def frame_emissions(scorer: FrameScorer, pause_mask: np.ndarray | None,
                    best_out: np.ndarray | None = None) -> Emissions:
    """Block-wise state log-likelihoods of the scorer; with a ``pause_mask``,
    only silence states may occupy the masked frames. ``best_out`` receives
    each frame's best state log-likelihood (for confidences)."""
    model, feats, silent = scorer.model, scorer.feats, scorer.silent

    def emissions(first: int, last: int) -> np.ndarray:
        loglik = state_log_likelihoods(model.mixtures, feats[first:last])
        if best_out is not None:
            best_out[first:last] = loglik.max(axis=1)
        if scorer.filler_frame_logp is not None:
            loglik = with_garbage(loglik, model, scorer.filler_frame_logp)
        if silent is not None:
            loglik[silent[first:last]] = 0.0
        if pause_mask is None:
            return loglik
        return forbid_speech(loglik, model, pause_mask[first:last])
    return emissions


def window_emissions(scorer: FrameScorer, pause_mask: np.ndarray | None,
                     block_frames: int = BLOCK_FRAMES,
                     known: dict[tuple[int, int], np.ndarray] | None = None,
                     ) -> WindowEmissions:
    """State log-likelihoods of short windows of frames, masked as
    :func:`frame_emissions` masks them, for windows asked in time order (as
    :mod:`vowelseg.boundaries.posterior` asks them): all states are scored a
    block of ``block_frames`` at a time, once, and each window reads its states
    off the block that holds it. ``known`` blocks (``(first, end)`` -> scores,
    kept by :func:`align_frames` with the same model and mask) are read, not
    scored again."""
    frames = frame_emissions(dataclasses.replace(scorer, filler_frame_logp=None), pause_mask)
    n_frames = scorer.n_frames
    block = [0, 0, np.empty((0, 0), dtype=np.float32)]  # first, end, log-likelihoods

    def emissions(first: int, end: int, columns: np.ndarray) -> np.ndarray:
        if first < block[0] or end > block[1]:
            held = [(a, b) for a, b in (known or {}) if a <= first and end <= b]
            if held:
                block[0], block[1] = held[0]
                block[2] = known[held[0]]
                return block[2][first - block[0]:end - block[0], columns]
            block[0], block[1] = first, min(n_frames, max(end, first + block_frames))
            block[2] = frames(block[0], block[1])
        return block[2][first - block[0]:end - block[0], columns]
    return emissions


def align_frames(graphs: Sequence[Callable[[], AlignmentGraph]], scorer: FrameScorer,
                 pause_mask: np.ndarray | None, beam: float = DEFAULT_BEAM,
                 best_out: np.ndarray | None = None,
                 keep: dict[tuple[int, int], np.ndarray] | None = None,
                 ) -> tuple[AlignmentGraph, np.ndarray, np.ndarray | None] | None:
    """Viterbi path with phones kept out of the VAD's pauses where possible.

    ``graphs`` build the graphs to try, in order (:func:`graph_builders`: with
    the model's minimum phone durations, then, for speech too fast for those,
    without; each built when first needed, once). Each is searched with
    ``beam``, then four times wider, then (if its back-pointers fit in
    ``EXACT_SEARCH_BYTES``) exactly. Only if no graph fits are the VAD's
    pauses given up (they cut through a word).

    ``keep``, if given, receives the scored blocks (``(first, end)`` ->
    state log-likelihoods) of the search that succeeded, for
    :func:`window_emissions` to reuse; pass it only for short recordings.

    Returns
    -------
    (graph, path, mask) or None
        The graph that fitted, the node per frame, and the pause mask the
        path keeps to (None if it had to be given up); None if the transcript
        fits no way (:func:`does_not_fit` says so to the user).
    """
    n_frames = scorer.n_frames
    masks = [pause_mask, None] if pause_mask is not None and pause_mask.any() else [None]
    for mask in masks:
        emissions = frame_emissions(scorer, mask, best_out)
        if keep is not None:
            emissions = _keeping(emissions, keep)
        for build in graphs:
            graph = build()
            widths = [beam, 4 * beam]
            if n_frames * graph.n_nodes <= EXACT_SEARCH_BYTES:
                widths.append(np.inf)
            for width in widths:
                try:
                    path = viterbi_blocks(graph, emissions, n_frames, beam=width)[0]
                    return graph, path, mask
                except AlignmentError:
                    pass
    return None


def _keeping(emissions: Emissions, keep: dict[tuple[int, int], np.ndarray]) -> Emissions:
    """``emissions`` that also store each block they score in ``keep`` (a later
    search over the same frames overwrites the earlier one's)."""
    def scored(first: int, last: int) -> np.ndarray:
        keep[first, last] = emissions(first, last)
        return keep[first, last]
    return scored


def graph_builders(words: list[Word], model: AcousticModel,
                   mismatch: Mismatch) -> list[Callable[[], AlignmentGraph]]:
    """The alignment graphs to try, each built on first call and kept: with the
    model's minimum phone durations (if it has any), then without them."""
    def builder(min_durations: bool) -> Callable[[], AlignmentGraph]:
        @functools.cache
        def build() -> AlignmentGraph:
            with gc_paused():
                return build_graph(words, model, mismatch=mismatch, min_durations=min_durations)
        return build
    return [builder(m) for m in ([True, False] if model.min_durations_s else [False])]


def does_not_fit(words: list[Word], duration_s: float) -> AlignmentError:
    """The error for a transcript that cannot be fitted to the audio."""
    n_phones = sum(min(len(v) for v in w.pronunciations) for w in words)
    return AlignmentError(
        f"the transcript ({len(words)} words, at least {n_phones} phones) does not "
        f"fit {duration_s:.2f} s of audio: check that it matches the recording"
    )


def check_fits(words: list[Word], model: AcousticModel, total_frames: int,
               duration_s: float) -> None:
    """Refuse at once a transcript with more HMM states than the audio has frames.

    Raises
    ------
    AlignmentError
        If even the shortest pronunciations need more frames than there are.
    """
    n_phones = sum(min(len(v) for v in w.pronunciations) for w in words)
    if n_phones * model.n_states > total_frames:
        raise does_not_fit(words, duration_s)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while millions of small tuples and
    lists are built (graph, intervals): it would rescan them all again and again,
    which made an hour of audio cost more per second than a minute. Nothing built
    there is cyclic garbage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def pause_frames(pauses: list[tuple[float, float]], n_frames: int, hop_s: float,
                 duration_s: float) -> np.ndarray:
    """Boolean mask of the frames whose centre lies in a pause (a pause that reaches
    the end of the file also takes the last frame, centred on the very end)."""
    centres = np.arange(n_frames) * hop_s
    mask = np.zeros(n_frames, dtype=bool)
    for a, b in pauses:  # each pause marks its own index range: linear in the file
        end = np.inf if b >= duration_s - 1e-9 else b
        first, last = np.searchsorted(centres, [a, end], side="left")
        mask[first:last] = True
    return mask


def with_garbage(loglik: np.ndarray, model: AcousticModel, frame_logp: float) -> np.ndarray:
    """``loglik`` with the filler's column appended: each frame's best speech
    state plus ``frame_logp``."""
    speech = np.ones(loglik.shape[1], dtype=bool)
    speech[model.silence_columns] = False
    best = loglik[:, speech].max(axis=1, keepdims=True) + np.float32(frame_logp)
    return np.concatenate([loglik, best.astype(loglik.dtype)], axis=1)


def forbid_speech(loglik: np.ndarray, model: AcousticModel, frames: np.ndarray) -> np.ndarray:
    """Copy of ``loglik`` where only silence states may occupy ``frames`` (bool mask)."""
    out = loglik.copy()
    keep = np.zeros(out.shape[1], dtype=bool)
    keep[model.silence_columns] = True
    out[np.ix_(frames, ~keep)] = NEG_INF
    return out
