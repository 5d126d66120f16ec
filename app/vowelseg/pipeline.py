"""``segment()``: audio + transcript -> vowel intervals. The one call that the
HTTP API, the CLI and the benchmarks share, written as its stages: read (the
audio's checks and pauses, the transcript's words) -> features -> align ->
boundaries -> warnings -> boundary model -> measures."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vowelseg.align.alignment import Alignment, Search, align
from vowelseg.align.search import check_fits, gc_paused, pause_frames
from vowelseg.audio.io import Audio, analysis_signal, read_audio
from vowelseg.audio.speech import check_speech
from vowelseg.audio.vad import find_pauses
from vowelseg.boundaries.corrector import BoundaryEvidence, BoundaryModel, correct, evidence
from vowelseg.boundaries.corrector import load_for as load_boundary_model
from vowelseg.boundaries.posterior import placed
from vowelseg.errors import NoSpeechError
from vowelseg.features.mfcc import (
    features_and_silence,
    n_frames,
    normalisation_spans,
    power_spectrogram,
)
from vowelseg.hmm.model import DEFAULT_MODEL, AcousticModel, load_model, resolve_model
from vowelseg.hmm.vtln import (
    MAX_SCORED_S,
    best_state_score,
    choose_warp,
    hill_climb,
    speech_spans,
)
from vowelseg.measures import measure_vowels
from vowelseg.options import Options
from vowelseg.quality import alignment_warnings, audio_warnings, fit_evidence, transcript_warnings
from vowelseg.result import Segmentation, Timeline, build_segmentation, shift_boundaries
from vowelseg.text.g2p import Lexicon, Word, load_lexicon, transcript_words
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
    audio = audio if isinstance(audio, Audio) else read_audio(audio)
    options = options or Options()
    resources = resources or load_resources()
    corrector = resources.boundaries if options.correct_boundaries else None
    seg, found = align_recording(audio, transcript, resources, options,
                                 keep_cepstra=corrector is not None)
    if corrector is not None:  # boundaries corrected, confidences calibrated
        seg = correct(seg, found, corrector)
    if options.measures:
        seg = _measured(seg, audio, options.measure_processes)
    return seg


def align_recording(audio: Audio, transcript: str, resources: Resources, options: Options,
                    keep_cepstra: bool = True,
                    ) -> tuple[Segmentation, BoundaryEvidence | None]:
    """:func:`segment` up to the boundary model: the alignment (boundaries from
    the posterior, shifted by the model's pair offsets; confidences from the
    log-likelihood ratio; warnings), and, with ``keep_cepstra``, what the
    boundary model reads off it (None without: an hour's cepstra are 37 MB)."""
    model = resources.model
    words = with_variants(transcript_words(transcript, resources.lexicon), model.variant_rates)
    signal = analysis_signal(audio, model.features.sample_rate)
    pauses, mask = _pauses(signal, words, audio.duration_s, model, options)
    warnings = (transcript_warnings(transcript, words)
                + audio_warnings(audio, signal, mask, model.features.hop_length))
    warp, feats, silent, cepstra = _features(signal, model, pauses, mask, options, keep_cepstra)
    del signal  # long recordings: the features are all the search needs
    alignment = align(words, model, feats, silent, mask, _search(options),
                      duration_s=audio.duration_s, sample_rate=audio.sample_rate, warp=warp,
                      cepstra=cepstra)
    seg, line = _boundaries(alignment, model, options)
    fit, worst_s = fit_evidence(alignment, audio, model.features.sample_rate,
                                exact=options.transcript_match == "exact")
    warnings += alignment_warnings(seg, options.transcript_match == "approximate", fit, worst_s)
    seg = dataclasses.replace(seg, warnings=tuple(warnings))
    hop_s = alignment.hop_s
    del feats, silent, alignment  # an hour's features are 110 MB; the boundary model reads none
    return seg, (evidence(seg, line, cepstra, hop_s) if keep_cepstra else None)


def _pauses(signal: np.ndarray, words: list[Word], duration_s: float, model: AcousticModel,
            options: Options) -> tuple[list[tuple[float, float]] | None, np.ndarray | None]:
    """Read: refuse a transcript too long for the audio and audio without speech;
    the VAD's pauses (seconds) and the frames they cover, ``(n_frames,)`` bool
    (both None without the VAD)."""
    config = model.features
    total_frames = n_frames(len(signal), config)
    check_fits(words, model, total_frames, duration_s)
    if options.speech_check:
        check_speech(signal)
    if not options.use_vad:
        return None, None
    pauses = find_pauses(signal, config.sample_rate, options.vad_aggressiveness,
                         min_pause_s=options.min_pause_s)
    mask = pause_frames(pauses, total_frames, config.hop_s, len(signal) / config.sample_rate)
    if mask.all():
        raise NoSpeechError("no speech found in the audio: the voice activity detector "
                            "heard none (is it silent?)")
    return pauses, mask


def _features(signal: np.ndarray, model: AcousticModel,
              pauses: list[tuple[float, float]] | None, mask: np.ndarray | None,
              options: Options, keep_cepstra: bool,
              ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray | None]:
    """Features: ``(warp, feats, silent, cepstra)``, the VTLN warp and the
    features under it as :func:`features_and_silence` gives them (``cepstra``:
    its static cepstra, None without ``keep_cepstra``)."""
    config = model.features
    spans = outside = None
    if mask is not None and options.normalise_between_pauses:
        spans = normalisation_spans(pauses, len(mask), config.hop_s)
        # the statistics are those of the frames a phone may occupy, whatever
        # fills the pauses (docs/experiments.md, Robustness)
        outside = mask
    if options.vtln and model.vtln_warps and len(signal) <= MAX_SCORED_S * config.sample_rate:
        return _fitted_features(signal, model, spans, outside, mask, keep_cepstra)
    warp = 1.0
    if options.vtln:  # a long recording: scored on pieces of its speech
        warp = choose_warp(signal, model, spans=speech_spans(
            len(signal), config.sample_rate, pauses) if mask is not None else None)
    static: list[np.ndarray] | None = [] if keep_cepstra else None
    feats, silent = features_and_silence(signal, config, spans, outside, warp=warp,
                                         static=static)
    return warp, feats, silent, static[0] if static else None


def _fitted_features(signal: np.ndarray, model: AcousticModel,
                     spans: list[tuple[int, int]] | None, outside: np.ndarray | None,
                     pauses: np.ndarray | None, keep_cepstra: bool,
                     ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray | None]:
    """VTLN for a recording of at most :data:`MAX_SCORED_S`: each warp is scored
    on the very features that will be aligned (``spans`` and ``outside`` as
    :func:`features_and_silence` takes them), on their frames outside the VAD's
    ``pauses`` (noisy pauses would pull the warp), so the winner's are kept
    instead of computed again (docs/experiments.md, Speed). Returns as
    :func:`_features`."""
    power = power_spectrogram(signal, model.features)  # once: only the mel filters move
    tried: dict[float, tuple] = {}

    def score(warp: float) -> float:
        static: list[np.ndarray] | None = [] if keep_cepstra else None
        feats, silent = features_and_silence(signal, model.features, spans, outside,
                                             warp=warp, static=static, power=power)
        tried[warp] = (feats, silent, static[0] if static else None)
        return best_state_score(model, feats[~silent if pauses is None
                                             else ~silent & ~pauses])

    warp = hill_climb(score, sorted(model.vtln_warps))
    return (warp, *tried[warp])


def _search(options: Options) -> Search:
    """The search settings of ``options``."""
    return Search(options.mismatch, options.beam, options.adapt_passes, options.adapt_tau)


def _boundaries(alignment: Alignment, model: AcousticModel,
                options: Options) -> tuple[Segmentation, Timeline]:
    """Boundaries: at the posterior's means (or the path's frame edges), then
    moved by the model's learned offsets of each phone pair."""
    if options.boundaries == "posterior":
        alignment = placed(alignment, options.posterior_scale)
    with gc_paused():
        seg, line = build_segmentation(alignment)
        if options.shift_boundaries:
            seg, line = shift_boundaries(seg, line, model.boundary_offsets)
    return seg, line


def _measured(seg: Segmentation, audio: Audio, processes: int) -> Segmentation:
    """Measures: ``seg`` with every vowel measured, on the signal read again
    (not kept through the search: an hour is 230 MB)."""
    return dataclasses.replace(seg, measures=tuple(measure_vowels(
        analysis_signal(audio, MEASURE_RATE), MEASURE_RATE,
        [(v.start, v.end) for v in seg.vowels], phones=[v.phone for v in seg.vowels],
        processes=processes)))


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
