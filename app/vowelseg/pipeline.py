"""``segment()``: audio + transcript -> vowel intervals. The one call that the
HTTP API, the CLI and the benchmarks share."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vowelseg.align.graph import STRICT, Mismatch
from vowelseg.align.search import (
    KEEP_SCORES_FRAMES,
    align_frames,
    check_fits,
    gc_paused,
    graph_builders,
    pause_frames,
    window_emissions,
)
from vowelseg.audio.io import Audio, analysis_signal, read_audio
from vowelseg.audio.vad import find_pauses
from vowelseg.boundaries.posterior import POSTERIOR_REACH_S, POSTERIOR_SCALE, boundary_frames
from vowelseg.errors import AlignmentError
from vowelseg.features.mfcc import features_and_silence, n_frames, normalisation_spans
from vowelseg.features.vtln import choose_warp, speech_spans
from vowelseg.hmm.adapt import Stats, accumulate, map_update
from vowelseg.hmm.gmm import column_log_likelihoods
from vowelseg.hmm.model import DEFAULT_MODEL, AcousticModel, load_model
from vowelseg.hmm.viterbi import DEFAULT_BEAM
from vowelseg.result import Segmentation, build_segmentation, shift_boundaries
from vowelseg.text.g2p import Lexicon, load_lexicon, transcript_words


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


@functools.lru_cache(maxsize=4)
def load_resources(model_path: Path = DEFAULT_MODEL) -> Resources:
    """Load (once per process and path) the model and the lexicon."""
    return Resources(model=load_model(Path(model_path)), lexicon=load_lexicon())


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
        # fills the pauses: noise kept beside the speech moves its equalised
        # features (docs/experiments.md, Robustness)
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
        accumulate(stats, model, feats, np.where(columns < model.n_columns, columns, -1))
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
    llr = np.where(columns < model.n_columns,
                   column_log_likelihoods(model.mixtures, feats, columns) - best, 0.0)
    llr[silent] = 0.0
    with gc_paused():
        seg = build_segmentation(graph, path, words, model.features.hop_s, audio.duration_s,
                                 audio.sample_rate, llr, starts)
        if options.shift_boundaries:
            seg = shift_boundaries(seg, model.boundary_offsets)
    return dataclasses.replace(seg, vtln_warp=warp)
