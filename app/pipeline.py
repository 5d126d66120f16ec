"""``segment()``: audio + transcript -> vowel intervals. The one call that the
HTTP API, the CLI and the benchmarks share."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .adapt import Stats, accumulate, map_update
from .align import AlignmentGraph, build_graph, forbid_speech, viterbi
from .audio import Audio, analysis_signal, read_audio
from .errors import AlignmentError
from .features import mfcc_features
from .g2p import Lexicon, Word, load_lexicon, transcript_words
from .model import DEFAULT_MODEL, AcousticModel, load_model, state_log_likelihoods
from .segments import Segmentation, build_segmentation, shift_boundaries
from .vad import find_pauses


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
    """

    vad_aggressiveness: int = 3
    min_pause_s: float = 0.2
    use_vad: bool = True
    adapt_passes: int = 0
    adapt_tau: float = 20.0
    shift_boundaries: bool = True


def align_frames(graph: AlignmentGraph, model: AcousticModel, loglik: np.ndarray,
                 pause_mask: np.ndarray | None, words: list[Word],
                 duration_s: float) -> np.ndarray:
    """Viterbi path with phones kept out of the VAD's pauses where possible.

    If the VAD's pauses cut through a word (no path fits), the alignment is
    made without them.

    Raises
    ------
    AlignmentError
        If the transcript cannot fit the audio at all.
    """
    if pause_mask is not None and pause_mask.any():
        try:
            return viterbi(graph, forbid_speech(loglik, model, pause_mask))[0]
        except AlignmentError:
            pass
    try:
        return viterbi(graph, loglik)[0]
    except AlignmentError:
        n_phones = sum(min(len(v) for v in w.pronunciations) for w in words)
        raise AlignmentError(
            f"the transcript ({len(words)} words, at least {n_phones} phones) does not "
            f"fit {duration_s:.2f} s of audio: check that it matches the recording"
        ) from None


@functools.lru_cache(maxsize=4)
def load_resources(model_path: Path = DEFAULT_MODEL) -> Resources:
    """Load (once per process and path) the model and the lexicon."""
    return Resources(model=load_model(Path(model_path)), lexicon=load_lexicon())


def pause_frames(pauses: list[tuple[float, float]], n_frames: int, hop_s: float,
                 duration_s: float) -> np.ndarray:
    """Boolean mask of the frames whose centre lies in a pause (a pause that reaches
    the end of the file also takes the last frame, centred on the very end)."""
    centres = np.arange(n_frames) * hop_s
    mask = np.zeros(n_frames, dtype=bool)
    for a, b in pauses:
        end = np.inf if b >= duration_s - 1e-9 else b
        mask |= (centres >= a) & (centres < end)
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
        The recording (any format :func:`app.audio.read_audio` accepts).
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
    signal = analysis_signal(audio, model.features.sample_rate)
    feats = mfcc_features(signal, model.features)
    mask = None
    if options.use_vad:
        sample_rate = model.features.sample_rate
        pauses = find_pauses(signal, sample_rate, options.vad_aggressiveness,
                             min_pause_s=options.min_pause_s)
        mask = pause_frames(pauses, len(feats), model.features.hop_s, len(signal) / sample_rate)
        if mask.all():
            raise AlignmentError("no speech found in the audio: the voice activity detector "
                                 "heard none (is it silent, or only noise?)")
    loglik = state_log_likelihoods(model, feats)
    graph = build_graph(words, model)
    path = align_frames(graph, model, loglik, mask, words, audio.duration_s)
    for _ in range(options.adapt_passes):
        stats = Stats.zeros(model)
        accumulate(stats, model, feats, graph.node_column[path])
        adapted = map_update(model, stats, options.adapt_tau, variances=False, weights=False)
        loglik = state_log_likelihoods(adapted, feats)
        path = align_frames(graph, model, loglik, mask, words, audio.duration_s)
    seg = build_segmentation(graph, path, words, model.features.hop_s, audio.duration_s,
                             audio.sample_rate)
    if options.shift_boundaries:
        seg = shift_boundaries(seg, model.boundary_offsets)
    return seg
