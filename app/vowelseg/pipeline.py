"""``segment()``: audio + transcript -> vowel intervals. The one call that the
HTTP API, the CLI and the benchmarks share."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vowelseg.align.graph import (
    BLOCK_FRAMES,
    DEFAULT_BEAM,
    STRICT,
    AlignmentGraph,
    Emissions,
    Mismatch,
    build_graph,
    forbid_speech,
    viterbi_blocks,
    with_garbage,
)
from vowelseg.audio.io import Audio, analysis_signal, read_audio
from vowelseg.audio.vad import find_pauses
from vowelseg.boundaries.posterior import (
    POSTERIOR_REACH_S,
    POSTERIOR_SCALE,
    WindowEmissions,
    boundary_frames,
)
from vowelseg.errors import AlignmentError
from vowelseg.features.mfcc import features_and_silence, n_frames, normalisation_spans
from vowelseg.features.vtln import choose_warp, speech_spans
from vowelseg.hmm.adapt import Stats, accumulate, map_update
from vowelseg.hmm.model import DEFAULT_MODEL, AcousticModel, load_model, state_log_likelihoods
from vowelseg.result import Segmentation, build_segmentation, shift_boundaries
from vowelseg.text.g2p import Lexicon, Word, load_lexicon, transcript_words

#: Largest exact (unpruned) Viterbi tried when the pruned one finds no path.
EXACT_SEARCH_BYTES = 200_000_000


@dataclass(frozen=True)
class Resources:
    """What alignment needs loaded: the acoustic model and the lexicon."""

    model: AcousticModel
    lexicon: Lexicon


@dataclass(frozen=True)
class Options:
    """Per-request settings.

    Attributes
    ----------
    vad_aggressiveness : int
        webrtcvad mode 0-3.
    min_pause_s : float
        Shortest non-speech stretch treated as a pause.
    use_vad : bool
        Forbid phones inside the VAD's pauses.
    adapt_passes : int
        Times to adapt the model's means to this recording (MAP, using the
        previous pass's alignment as labels) and align again; 0 for none.
    adapt_tau : float
        MAP prior weight for those passes, in frames.
    shift_boundaries : bool
        Apply the model's learned per-type boundary offsets.
    beam : float
        Viterbi pruning beam (log-likelihood); ``inf`` for exact search.
    normalise_between_pauses : bool
        Normalise the features of each stretch between the VAD's pauses
        (at least 2 s) on its own, so a long recording with several
        speakers or rooms is treated like a set of utterances, and leave the
        pauses out of the statistics.
    vtln : bool
        Warp the mel filters to fit the voice to the model (:mod:`vowelseg.features.vtln`),
        if the model was trained with a grid of warps.
    mismatch : Mismatch
        Tolerance for transcript words that were not spoken (skipped, reported
        ``found: false``) and speech the transcript lacks (absorbed by a filler
        between words, reported as ``untranscribed``). ``align.STRICT`` (the
        default) forces every word in; ``align.TOLERANT`` for transcripts that may
        not match (it costs a little accuracy and speed on ones that do).
    posterior_scale : float or None
        Place each boundary at its posterior mean on the aligned path
        (:mod:`vowelseg.boundaries.posterior`), the emission log-likelihoods scaled by this;
        None keeps the Viterbi path's frame edges. Default:
        :data:`vowelseg.boundaries.posterior.POSTERIOR_SCALE`.
    """

    vad_aggressiveness: int = 3
    min_pause_s: float = 0.2
    use_vad: bool = True
    adapt_passes: int = 0
    adapt_tau: float = 20.0
    shift_boundaries: bool = True
    beam: float = DEFAULT_BEAM
    normalise_between_pauses: bool = True
    vtln: bool = True
    mismatch: Mismatch = STRICT
    posterior_scale: float | None = POSTERIOR_SCALE


KEEP_SCORES_FRAMES = 4 * BLOCK_FRAMES
"""Recordings up to this many frames (82 s at 5 ms; about 8 MB of scores) keep the
Viterbi search's state scores for the boundary posteriors instead of scoring again."""


def frame_emissions(model: AcousticModel, feats: np.ndarray, pause_mask: np.ndarray | None,
                    silent: np.ndarray | None = None,
                    garbage_frame_logp: float | None = None,
                    best_out: np.ndarray | None = None) -> Emissions:
    """Block-wise state log-likelihoods of ``feats``; with a ``pause_mask``,
    only silence states may occupy the masked frames. Frames marked ``silent``
    (digital silence: no acoustic evidence) score 0 in every state, so no
    phone gains or loses by covering them. With ``garbage_frame_logp`` the
    untranscribed-speech filler's column is appended. ``best_out`` receives
    each frame's best state log-likelihood (for confidences)."""
    def emissions(first: int, last: int) -> np.ndarray:
        loglik = state_log_likelihoods(model, feats[first:last])
        if best_out is not None:
            best_out[first:last] = loglik.max(axis=1)
        if garbage_frame_logp is not None:
            loglik = with_garbage(loglik, model, garbage_frame_logp)
        if silent is not None:
            loglik[silent[first:last]] = 0.0
        if pause_mask is None:
            return loglik
        return forbid_speech(loglik, model, pause_mask[first:last])
    return emissions


def window_emissions(model: AcousticModel, feats: np.ndarray, pause_mask: np.ndarray | None,
                     silent: np.ndarray | None = None, block_frames: int = 4096,
                     known: dict[tuple[int, int], np.ndarray] | None = None,
                     ) -> WindowEmissions:
    """State log-likelihoods of short windows of frames, masked as
    :func:`frame_emissions` masks them, for windows asked in time order (as
    :mod:`vowelseg.boundaries.posterior` asks them): all states are scored a block of
    ``block_frames`` at a time, once, and each window reads its states off the
    block that holds it. ``known`` blocks (``(first, end)`` -> scores, kept by
    :func:`align_frames` with the same model and mask) are read, not scored again."""
    frames = frame_emissions(model, feats, pause_mask, silent)
    block = [0, 0, np.empty((0, 0), dtype=np.float32)]  # first, end, log-likelihoods

    def emissions(first: int, end: int, columns: np.ndarray) -> np.ndarray:
        if first < block[0] or end > block[1]:
            held = [(a, b) for a, b in (known or {}) if a <= first and end <= b]
            if held:
                block[0], block[1] = held[0]
                block[2] = known[held[0]]
                return block[2][first - block[0]:end - block[0], columns]
            block[0], block[1] = first, min(len(feats), max(end, first + block_frames))
            block[2] = frames(block[0], block[1])
        return block[2][first - block[0]:end - block[0], columns]
    return emissions


def align_frames(graphs: Sequence[Callable[[], AlignmentGraph]], model: AcousticModel,
                 feats: np.ndarray, pause_mask: np.ndarray | None, words: list[Word],
                 duration_s: float, beam: float = DEFAULT_BEAM,
                 silent: np.ndarray | None = None,
                 garbage_frame_logp: float | None = None,
                 best_out: np.ndarray | None = None,
                 keep: dict[tuple[int, int], np.ndarray] | None = None,
                 ) -> tuple[AlignmentGraph, np.ndarray, np.ndarray | None]:
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
    graph, path, mask
        The graph that fitted, the node per frame, and the pause mask the
        path keeps to (None if it had to be given up).

    Raises
    ------
    AlignmentError
        If the transcript cannot fit the audio at all.
    """
    masks = [pause_mask, None] if pause_mask is not None and pause_mask.any() else [None]
    for mask in masks:
        emissions = frame_emissions(model, feats, mask, silent, garbage_frame_logp, best_out)
        if keep is not None:
            emissions = _keeping(emissions, keep)
        for build in graphs:
            graph = build()
            widths = [beam, 4 * beam]
            if len(feats) * graph.n_nodes <= EXACT_SEARCH_BYTES:
                widths.append(np.inf)
            for width in widths:
                try:
                    path = viterbi_blocks(graph, emissions, len(feats), beam=width)[0]
                    return graph, path, mask
                except AlignmentError:
                    pass
    raise does_not_fit(words, duration_s)


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


@functools.lru_cache(maxsize=4)
def load_resources(model_path: Path = DEFAULT_MODEL) -> Resources:
    """Load (once per process and path) the model and the lexicon."""
    return Resources(model=load_model(Path(model_path)), lexicon=load_lexicon())


def aligned_log_likelihoods(model: AcousticModel, feats: np.ndarray, columns: np.ndarray,
                            block_frames: int = 8192) -> np.ndarray:
    """Per frame, the log-likelihood under the one state ``columns[t]`` (0 where the
    column is not a phone state, e.g. the untranscribed filler)."""
    n_phones, n_states, n_mix, dim = model.means.shape
    means = model.means.reshape(-1, n_mix, dim)
    inv_var = 1.0 / model.variances.reshape(-1, n_mix, dim)
    const = (np.log(np.maximum(model.weights.reshape(-1, n_mix), 1e-30))
             - 0.5 * (dim * np.log(2 * np.pi) + np.log(model.variances.reshape(-1, n_mix, dim))
                      .sum(-1)))
    out = np.zeros(len(feats), dtype=np.float32)
    for first in range(0, len(feats), block_frames):
        cols = columns[first:first + block_frames]
        rows = np.flatnonzero(cols < len(means))
        c = cols[rows]
        x = feats[first + rows][:, None, :]
        comp = const[c] - 0.5 * (((x - means[c]) ** 2) * inv_var[c]).sum(-1)
        peak = comp.max(axis=1)
        out[first + rows] = peak + np.log(np.exp(comp - peak[:, None]).sum(axis=1))
    return out


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


def segment(
    audio: Audio | str | Path | bytes,
    transcript: str,
    resources: Resources | None = None,
    options: Options = Options(),
) -> Segmentation:
    """Find every word, phone, vowel and pause of a recording.

    Parameters
    ----------
    audio : Audio, path or bytes
        The recording (any format :func:`vowelseg.audio.io.read_audio` accepts).
    transcript : str
        The words spoken, in order.
    resources : Resources, optional
        Model and lexicon; the bundled ones by default.
    options : Options
        VAD settings.

    Returns
    -------
    Segmentation
        Times in seconds from the start of the file.

    Raises
    ------
    VowelsegError
        Unreadable audio, empty transcript, or a transcript that cannot fit.
    """
    if not isinstance(audio, Audio):
        audio = read_audio(audio)
    resources = resources or load_resources()
    model = resources.model
    words = transcript_words(transcript, resources.lexicon)
    config = model.features
    signal = analysis_signal(audio, config.sample_rate)
    total_frames = n_frames(len(signal), config)
    check_fits(words, model, total_frames, audio.duration_s)
    mask = None
    if options.use_vad:
        pauses = find_pauses(signal, config.sample_rate, options.vad_aggressiveness,
                             min_pause_s=options.min_pause_s)
        mask = pause_frames(pauses, total_frames, config.hop_s, len(signal) / config.sample_rate)
        if mask.all():
            raise AlignmentError("no speech found in the audio: the voice activity detector "
                                 "heard none (is it silent, or only noise?)")
    spans = outside = None
    if options.use_vad and options.normalise_between_pauses:
        spans = normalisation_spans(pauses, total_frames, config.hop_s)
        # the statistics are those of the frames a phone may occupy, whatever
        # fills the pauses: noise kept beside the speech (0.3 s of each pause,
        # until 2026-11-25) moved its equalised features (README, Robustness)
        outside = mask
    warp = 1.0
    if options.vtln:  # fitted to the speech only: long noisy pauses would pull the warp
        warp = choose_warp(signal, model, spans=speech_spans(len(signal), config.sample_rate,
                                                             pauses) if options.use_vad else None)
    feats, silent = features_and_silence(signal, config, spans, outside, warp=warp)
    del signal  # long recordings: the features are all that is needed from here on
    mismatch = options.mismatch
    garbage = mismatch.garbage_frame_logp if mismatch.garbage_entry_logp is not None else None
    best = np.zeros(len(feats), dtype=np.float32)
    # the search's scores, for the posterior to reuse, where holding them all is cheap
    keep = {} if len(feats) <= KEEP_SCORES_FRAMES else None
    graph, path, kept_mask = align_frames(graph_builders(words, model, mismatch), model, feats,
                                          mask, words, audio.duration_s, options.beam, silent,
                                          garbage, best, keep)
    scorer = model
    for _ in range(options.adapt_passes):
        stats = Stats.zeros(model)
        columns = graph.node_column[path]
        accumulate(stats, model, feats, np.where(columns < model.n_states * len(model.phones),
                                                 columns, -1))
        scorer = map_update(model, stats, options.adapt_tau, variances=False, weights=False)
        _, path, kept_mask = align_frames([lambda: graph], scorer, feats, mask, words,
                                          audio.duration_s, options.beam, silent, garbage,
                                          keep=keep)
    starts = None
    if options.posterior_scale is not None:
        scores = window_emissions(scorer, feats, kept_mask, silent, known=keep)
        starts = boundary_frames(graph, path, scores,
                                 options.posterior_scale,
                                 reach_frames=round(POSTERIOR_REACH_S / config.hop_s))
    # confidence: the aligned state against the best state of any phone, per frame
    columns = graph.node_column[path]
    llr = np.where(columns < model.n_states * len(model.phones),
                   aligned_log_likelihoods(model, feats, columns) - best, 0.0)
    llr[silent] = 0.0
    with gc_paused():
        seg = build_segmentation(graph, path, words, model.features.hop_s, audio.duration_s,
                                 audio.sample_rate, llr, starts)
        if options.shift_boundaries:
            seg = shift_boundaries(seg, model.boundary_offsets)
    return dataclasses.replace(seg, vtln_warp=warp)
