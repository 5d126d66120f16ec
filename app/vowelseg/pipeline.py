"""``segment()``: audio + transcript -> vowel intervals. The one call that the
HTTP API, the CLI and the benchmarks share."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vowelseg.align.graph import PAUSE_WORD
from vowelseg.align.search import (
    KEEP_SCORES_FRAMES,
    Evidence,
    align_frames,
    check_fits,
    does_not_fit,
    gc_paused,
    graph_builders,
    pause_frames,
    window_emissions,
)
from vowelseg.audio.io import Audio, analysis_signal, read_audio
from vowelseg.audio.speech import check_speech, speech_windows
from vowelseg.audio.vad import find_pauses
from vowelseg.boundaries.corrector import BoundaryModel, correct
from vowelseg.boundaries.corrector import evidence as boundary_evidence
from vowelseg.boundaries.corrector import load_for as load_boundary_model
from vowelseg.boundaries.posterior import POSTERIOR_REACH_S, boundary_posteriors
from vowelseg.errors import NoSpeechError
from vowelseg.features.mfcc import (
    features_and_silence,
    n_frames,
    normalisation_spans,
    power_spectrogram,
)
from vowelseg.features.vtln import (
    MAX_SCORED_S,
    best_state_score,
    choose_warp,
    hill_climb,
    speech_spans,
)
from vowelseg.hmm.adapt import Stats, accumulate, map_update
from vowelseg.hmm.gmm import column_log_likelihoods
from vowelseg.hmm.model import DEFAULT_MODEL, AcousticModel, load_model, resolve_model
from vowelseg.measures import measure_vowels
from vowelseg.options import Options
from vowelseg.quality import (
    alignment_warnings,
    audio_warnings,
    excuse_quiet_pauses,
    mismatch_evidence,
    transcript_warnings,
    worst_window,
)
from vowelseg.result import (
    Segmentation,
    build_segmentation,
    frame_edge_s,
    shift_boundaries,
    timeline,
    touching,
)
from vowelseg.text.g2p import Lexicon, load_lexicon, transcript_words
from vowelseg.text.variants import with_variants
from vowelseg.textgrids import read_alignment


@dataclass(frozen=True)
class Resources:
    """What alignment needs loaded: the acoustic model, the lexicon and the
    model's boundary corrector and calibrators (None if it has none)."""

    model: AcousticModel
    lexicon: Lexicon
    boundaries: BoundaryModel | None = None


#: Rate of the signal vowels are measured on, Hz.
MEASURE_RATE = 16000


def load_resources(model: str | Path = DEFAULT_MODEL) -> Resources:
    """The model and the lexicon, loaded once per process and model.

    Parameters
    ----------
    model : str or Path
        A bundled model's name (``"vowelseg-en-synthetic"``) or a model's path.

    Raises
    ------
    ModelError
        If ``model`` names no model.
    """
    return _load_resources(resolve_model(model))


@functools.lru_cache(maxsize=4)
def _load_resources(path: Path) -> Resources:
    return Resources(model=load_model(path), lexicon=load_lexicon(),
                     boundaries=load_boundary_model(path))


def segment(
    audio: Audio | str | Path | bytes,
    transcript: str,
    resources: Resources | None = None,
    options: Options | None = None,
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
    options : Options, optional
        How to align (:class:`vowelseg.options.Options`); the defaults if None.

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
    options = options or Options()
    resources = resources or load_resources()
    corrected = options.correct_boundaries and resources.boundaries is not None
    seg, inputs = align_recording(audio, transcript, resources, options,
                                  keep_cepstra=corrected)
    if corrected:
        seg = correct(seg, boundary_evidence(seg, inputs.cepstra,
                                             resources.model.features.hop_s,
                                             inputs.spread_s), resources.boundaries)
    if options.measures:
        # the signal again (not kept through the search: an hour is 230 MB)
        seg = dataclasses.replace(seg, measures=tuple(measure_vowels(
            analysis_signal(audio, MEASURE_RATE), MEASURE_RATE,
            [(v.start, v.end) for v in seg.vowels], phones=[v.phone for v in seg.vowels],
            processes=options.measure_processes)))
    return seg


def _fitted_features(signal: np.ndarray, model: AcousticModel,
                     spans: list[tuple[int, int]] | None, outside: np.ndarray | None,
                     pauses: np.ndarray | None,
                     keep_cepstra: bool) -> tuple[float, np.ndarray, np.ndarray, list | None]:
    """VTLN for a recording of at most :data:`MAX_SCORED_S`: each warp is scored
    on the very features that will be aligned (``spans`` and ``outside`` as
    :func:`features_and_silence` takes them), on their frames outside the VAD's
    ``pauses`` (noisy pauses would pull the warp), so the winner's are
    kept instead of computed again (timit-dev's 80 utterances: the same warps
    as scoring a separate excerpt of the speech, 15 % less time per utterance).

    Returns
    -------
    warp, feats, silent, static
        As :func:`features_and_silence` gives them for the chosen warp (``static``:
        the list it filled, None without ``keep_cepstra``).
    """
    power = power_spectrogram(signal, model.features)  # once: only the mel filters move
    tried: dict[float, tuple] = {}

    def score(warp: float) -> float:
        static: list[np.ndarray] | None = [] if keep_cepstra else None
        feats, silent = features_and_silence(signal, model.features, spans, outside,
                                             warp=warp, static=static, power=power)
        tried[warp] = (feats, silent, static)
        return best_state_score(model, feats[~silent if pauses is None
                                             else ~silent & ~pauses])

    warp = hill_climb(score, sorted(model.vtln_warps))
    return (warp, *tried[warp])


@dataclass(frozen=True)
class BoundaryInputs:
    """What the boundary model reads off an alignment besides the reply.

    Attributes
    ----------
    cepstra : np.ndarray
        ``(n_frames, n_mfcc)``: the MFCC of every frame before normalisation.
    spread_s : np.ndarray
        Per boundary between touching phones or pauses (in the order of
        :func:`vowelseg.result.touching`), the standard deviation of its place
        under the posterior, seconds (NaN where the path's frame edge was kept).
    """

    cepstra: np.ndarray
    spread_s: np.ndarray


def align_recording(audio: Audio, transcript: str, resources: Resources, options: Options,
                    keep_cepstra: bool = True) -> tuple[Segmentation, BoundaryInputs | None]:
    """:func:`segment` up to the boundary model: the alignment (boundaries from
    the posterior, shifted by the model's pair offsets; confidences from the
    log-likelihood ratio; warnings), and, with ``keep_cepstra``, what the
    boundary model reads (None without: an hour's cepstra are 37 MB)."""
    model = resources.model
    words = with_variants(transcript_words(transcript, resources.lexicon), model.variant_rates)
    config = model.features
    signal = analysis_signal(audio, config.sample_rate)
    total_frames = n_frames(len(signal), config)
    check_fits(words, model, total_frames, audio.duration_s)
    if options.speech_check:
        check_speech(signal)
    mask = None
    if options.use_vad:
        pauses = find_pauses(signal, config.sample_rate, options.vad_aggressiveness,
                             min_pause_s=options.min_pause_s)
        mask = pause_frames(pauses, total_frames, config.hop_s, len(signal) / config.sample_rate)
        if mask.all():
            raise NoSpeechError("no speech found in the audio: the voice activity detector "
                                "heard none (is it silent?)")
    spans = outside = None
    if options.use_vad and options.normalise_between_pauses:
        spans = normalisation_spans(pauses, total_frames, config.hop_s)
        # the statistics are those of the frames a phone may occupy, whatever
        # fills the pauses: noise kept beside the speech moves its equalised
        # features (docs/experiments.md, Robustness)
        outside = mask
    if options.vtln and model.vtln_warps and len(signal) <= MAX_SCORED_S * config.sample_rate:
        warp, feats, silent, static = _fitted_features(signal, model, spans, outside, mask,
                                                       keep_cepstra)
    else:
        warp = 1.0
        if options.vtln:  # a long recording: scored on pieces of its speech
            warp = choose_warp(signal, model, spans=speech_spans(
                len(signal), config.sample_rate, pauses) if options.use_vad else None)
        static = [] if keep_cepstra else None
        feats, silent = features_and_silence(signal, config, spans, outside, warp=warp,
                                             static=static)
    warnings = (transcript_warnings(transcript, words)
                + audio_warnings(audio, signal, mask, config.hop_length))
    del signal  # long recordings: the features are all the search needs
    mismatch = options.mismatch
    evidence = Evidence(model, feats, silent, mismatch.garbage_frame_logp
                        if mismatch.garbage_entry_logp is not None else None)
    best = np.zeros(len(feats), dtype=np.float32)
    # the search's scores, for the posterior to reuse, where holding them all is cheap
    keep = {} if len(feats) <= KEEP_SCORES_FRAMES else None
    found = align_frames(graph_builders(words, model, mismatch), evidence, mask, options.beam,
                         best, keep)
    if found is None:
        raise does_not_fit(words, audio.duration_s)
    graph, path, kept_mask = found
    for _ in range(options.adapt_passes):
        stats = Stats.zeros(model)
        columns = graph.node_column[path]
        accumulate(stats, model, feats, np.where(columns < model.n_columns, columns, -1))
        scorer = map_update(model, stats, options.adapt_tau, variances=False, weights=False)
        evidence = dataclasses.replace(evidence, model=scorer)
        found = align_frames([lambda: graph], evidence, mask, options.beam, keep=keep)
        if found is None:
            raise does_not_fit(words, audio.duration_s)
        _, path, kept_mask = found
    starts = spreads = None
    if options.boundaries == "posterior":
        scores = window_emissions(evidence, kept_mask, known=keep)
        starts, spreads = boundary_posteriors(
            graph, path, scores, options.posterior_scale,
            reach_frames=round(POSTERIOR_REACH_S / config.hop_s))
    # confidence: the aligned state against the best state of any phone, per frame
    columns = graph.node_column[path]
    llr = np.where(columns < model.n_columns,
                   column_log_likelihoods(model.mixtures, feats, columns) - best, 0.0)
    llr[silent] = 0.0
    frame_word = np.array([slot.word for slot in graph.slots])[graph.node_slot[path]]

    def heard(first: int, end: int) -> bool:  # speech in these frames of the file?
        a, b = (max(0, int(f * config.hop_s * audio.sample_rate)) for f in (first, end))
        piece = analysis_signal(Audio(audio.samples[a:b], audio.sample_rate, audio.format,
                                      audio.subtype), config.sample_rate)
        return speech_windows(piece) > 0

    counted = (excuse_quiet_pauses(llr, frame_word == PAUSE_WORD, heard)
               if options.transcript_match == "exact" else llr)
    evidence = mismatch_evidence(counted, frame_word >= 0)
    worst_s = tuple(f * config.hop_s for f in worst_window(counted))
    with gc_paused():
        seg = build_segmentation(graph, path, words, model.features.hop_s, audio.duration_s,
                                 audio.sample_rate, llr, starts)
        spread_s = (_boundary_spreads(seg, starts, spreads, config.hop_s)
                    if keep_cepstra else None)
        if options.shift_boundaries:
            seg = shift_boundaries(seg, model.boundary_offsets)
    warnings += alignment_warnings(seg, options.transcript_match == "approximate", evidence,
                                   worst_s)
    return (dataclasses.replace(seg, vtln_warp=warp, warnings=tuple(warnings)),
            BoundaryInputs(static[0], spread_s) if static else None)


def _boundary_spreads(seg: Segmentation, starts: np.ndarray | None,
                      spreads: np.ndarray | None, hop_s: float) -> np.ndarray:
    """:attr:`BoundaryInputs.spread_s` of ``seg`` as built from the path's runs
    (``starts``, ``spreads``: :func:`boundary_posteriors`), before any boundary
    is moved: each boundary is found by its time among the runs' starts."""
    units = timeline(seg)
    at = touching(units)
    out = np.full(len(at), np.nan)
    if starts is None:
        return out
    found = {round(frame_edge_s(a, hop_s, seg.duration), 5): s * hop_s
             for a, s in zip(starts[1:], spreads[1:], strict=True) if np.isfinite(s)}
    for k, i in enumerate(at):
        out[k] = found.get(units[i][2], np.nan)
    return out


def measure(audio: Audio | str | Path | bytes, textgrid: str,
            tier: str | None = None, processes: int = 1) -> Segmentation:
    """Measure the vowels of an existing alignment (a TextGrid whose phone tier
    is ARPAbet, as vowelseg and the Montreal Forced Aligner write).

    Parameters
    ----------
    audio : Audio, path or bytes
        The recording.
    textgrid : str
        The TextGrid's contents.
    tier : str, optional
        The phone tier's name (default ``phones`` or ``… - phones``).
    processes : int
        As :attr:`vowelseg.options.Options.measure_processes`.

    Raises
    ------
    VowelsegError
        Unreadable audio, or a TextGrid that cannot be measured
        (:class:`vowelseg.textgrids.TextGridError`).
    """
    if not isinstance(audio, Audio):
        audio = read_audio(audio)
    signal = analysis_signal(audio, MEASURE_RATE)
    seg = read_alignment(textgrid, audio.duration_s, audio.sample_rate, tier)
    intervals = [(v.start, v.end) for v in seg.vowels]
    return dataclasses.replace(seg, measures=tuple(measure_vowels(
        signal, MEASURE_RATE, intervals, phones=[v.phone for v in seg.vowels],
        processes=processes)))
