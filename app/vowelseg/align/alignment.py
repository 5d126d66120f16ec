"""The alignment: one typed, frame-indexed object that every stage after the
search reads and updates by index (:mod:`vowelseg.boundaries`, :mod:`vowelseg.quality`,
:mod:`vowelseg.result`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vowelseg.align.graph import AlignmentGraph, Mismatch, path_segments
from vowelseg.align.search import (
    KEEP_SCORES_FRAMES,
    FrameScorer,
    align_frames,
    does_not_fit,
    graph_builders,
)
from vowelseg.hmm.adapt import Stats, accumulate, map_update
from vowelseg.hmm.gmm import column_log_likelihoods
from vowelseg.hmm.model import AcousticModel
from vowelseg.hmm.viterbi import DEFAULT_BEAM
from vowelseg.text.g2p import Word


@dataclass(frozen=True)
class Alignment:
    """A recording aligned to its transcript.

    Attributes
    ----------
    graph : AlignmentGraph
        The transcript's graph the path runs through.
    path : np.ndarray
        ``(n_frames,)`` the graph node of every frame.
    words : list of Word
        The transcript's words (``graph.slots[...].word`` indexes them).
    runs : np.ndarray
        ``(n_runs, 3)`` int: each run of the path through one phone slot as
        ``(slot, first_frame, end_frame)``, end exclusive, in time order.
    frame_llr : np.ndarray
        ``(n_frames,)`` the aligned state's log-likelihood minus the best
        state's of any phone (0 on digital silence and in the untranscribed filler),
        nats.
    scorer : FrameScorer
        The features and the model (adapted, if it was) the path was found with.
    pause_mask : np.ndarray or None
        ``(n_frames,)`` the VAD's pauses the path keeps out of (None: none, or
        given up).
    kept_scores : dict or None
        The search's scored blocks (``(first, end)`` -> state log-likelihoods),
        kept for a short recording so the boundary posteriors need not score again.
    hop_s, duration_s : float
        Frame step and the recording's length, seconds.
    sample_rate : int
        Of the recording as it came.
    warp : float
        The VTLN warp of the features (1: none).
    cepstra : np.ndarray or None
        ``(n_frames, n_mfcc)`` static cepstra before normalisation, for the
        boundary model (None when it is not used: an hour's are 37 MB).
    starts, spreads : np.ndarray or None
        ``(n_runs,)`` each run's start frame under the posterior (fractional)
        and its standard deviation, frames (NaN where the path's edge was
        kept); None until :func:`vowelseg.boundaries.posterior.placed` sets them.
    """

    graph: AlignmentGraph
    path: np.ndarray
    words: list[Word]
    runs: np.ndarray
    frame_llr: np.ndarray
    scorer: FrameScorer
    pause_mask: np.ndarray | None
    kept_scores: dict[tuple[int, int], np.ndarray] | None
    hop_s: float
    duration_s: float
    sample_rate: int
    warp: float = 1.0
    cepstra: np.ndarray | None = None
    starts: np.ndarray | None = None
    spreads: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        """Frames in the recording."""
        return len(self.path)

    def run_llr(self) -> np.ndarray:
        """``(n_runs,)`` the mean per-frame log-likelihood ratio of each run, nats."""
        if not len(self.runs):
            return np.zeros(0)
        first, end = self.runs[:, 1], self.runs[:, 2]
        return np.add.reduceat(self.frame_llr.astype(np.float64), first) / (end - first)

    def frame_words(self) -> np.ndarray:
        """``(n_frames,)`` the transcript word of every frame (negative: a pause or
        the untranscribed filler, :data:`vowelseg.align.graph.PAUSE_WORD`)."""
        return np.array([slot.word for slot in self.graph.slots])[self.graph.node_slot[self.path]]


def runs_of(graph: AlignmentGraph, path: np.ndarray) -> np.ndarray:
    """:attr:`Alignment.runs` of a path."""
    return np.array(path_segments(graph, path), dtype=np.int64).reshape(-1, 3)


@dataclass(frozen=True)
class Search:
    """How to search: the graph's tolerance of a mismatched transcript, the
    Viterbi beam (natural log), and the passes of adaptation to the recording
    (MAP on the means, prior weight ``adapt_tau`` frames), each followed by a
    new search."""

    mismatch: Mismatch
    beam: float = DEFAULT_BEAM
    adapt_passes: int = 0
    adapt_tau: float = 20.0


def align(words: list[Word], model: AcousticModel, feats: np.ndarray, silent: np.ndarray,
          pause_mask: np.ndarray | None, search: Search, *, duration_s: float,
          sample_rate: int, warp: float = 1.0,
          cepstra: np.ndarray | None = None) -> Alignment:
    """Align the transcript's ``words`` to a recording's features.

    Parameters
    ----------
    words : list of Word
        The transcript, with its pronunciation variants.
    model : AcousticModel
    feats, silent : np.ndarray
        ``(n_frames, dim)`` features and ``(n_frames,)`` digital silence.
    pause_mask : np.ndarray or None
        ``(n_frames,)`` the VAD's pauses, kept out of phones where possible.
    search : Search
    duration_s, sample_rate, warp, cepstra
        Kept on the :class:`Alignment` for the stages after it.

    Raises
    ------
    AlignmentError
        If the transcript fits the recording no way.
    """
    mismatch = search.mismatch
    scorer = FrameScorer(model, feats, silent, mismatch.garbage_frame_logp
                         if mismatch.garbage_entry_logp is not None else None)
    best = np.zeros(len(feats), dtype=np.float32)
    keep = {} if len(feats) <= KEEP_SCORES_FRAMES else None
    found = align_frames(graph_builders(words, model, mismatch), scorer, pause_mask,
                         search.beam, best, keep)
    if found is None:
        raise does_not_fit(words, duration_s)
    graph, path, kept_mask = found
    for _ in range(search.adapt_passes):
        stats = Stats.zeros(model)
        columns = graph.node_column[path]
        accumulate(stats, model, feats, np.where(columns < model.n_columns, columns, -1))
        adapted = map_update(model, stats, search.adapt_tau, variances=False, weights=False)
        scorer = FrameScorer(adapted, feats, silent, scorer.filler_frame_logp)
        found = align_frames([lambda: graph], scorer, pause_mask, search.beam, keep=keep)
        if found is None:
            raise does_not_fit(words, duration_s)
        _, path, kept_mask = found
    # the fit: the aligned state against the best state of any phone, per frame
    columns = graph.node_column[path]
    llr = np.where(columns < model.n_columns,
                   column_log_likelihoods(model.mixtures, feats, columns) - best, 0.0)
    llr[silent] = 0.0
    return Alignment(graph, path, words, runs_of(graph, path), llr, scorer, kept_mask, keep,
                     model.features.hop_s, duration_s, sample_rate, warp, cepstra)
