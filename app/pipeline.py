"""``segment()``: audio + transcript -> vowel intervals. The one call that the
HTTP API, the CLI and the benchmarks share."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .align import build_graph, forbid_speech, viterbi
from .audio import Audio, analysis_signal, read_audio
from .errors import AlignmentError
from .features import mfcc_features
from .g2p import Lexicon, load_lexicon, transcript_words
from .model import DEFAULT_MODEL, AcousticModel, load_model, state_log_likelihoods
from .segments import Segmentation, build_segmentation
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
    """

    vad_aggressiveness: int = 3
    min_pause_s: float = 0.2
    use_vad: bool = True


@functools.lru_cache(maxsize=4)
def load_resources(model_path: Path = DEFAULT_MODEL) -> Resources:
    """Load (once per process and path) the model and the lexicon."""
    return Resources(model=load_model(Path(model_path)), lexicon=load_lexicon())


def pause_frames(pauses: list[tuple[float, float]], n_frames: int, hop_s: float) -> np.ndarray:
    """Boolean mask of the frames whose centre lies in a pause."""
    centres = np.arange(n_frames) * hop_s
    mask = np.zeros(n_frames, dtype=bool)
    for a, b in pauses:
        mask |= (centres >= a) & (centres < b)
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
        audio = read_audio(audio if isinstance(audio, bytes) else Path(audio).read_bytes())
    resources = resources or load_resources()
    model = resources.model
    words = transcript_words(transcript, resources.lexicon)
    signal = analysis_signal(audio, model.features.sample_rate)
    feats = mfcc_features(signal, model.features)
    loglik = state_log_likelihoods(model, feats)
    graph = build_graph(words, model)
    path = None
    if options.use_vad:
        pauses = find_pauses(signal, model.features.sample_rate, options.vad_aggressiveness,
                             min_pause_s=options.min_pause_s)
        mask = pause_frames(pauses, len(feats), model.features.hop_s)
        if mask.any():
            try:
                path, _ = viterbi(graph, forbid_speech(loglik, model, mask))
            except AlignmentError:
                path = None  # the VAD cut through a word: align without it
    if path is None:
        try:
            path, _ = viterbi(graph, loglik)
        except AlignmentError:
            n_phones = sum(min(len(v) for v in w.pronunciations) for w in words)
            raise AlignmentError(
                f"the transcript ({len(words)} words, at least {n_phones} phones) does not "
                f"fit {audio.duration_s:.2f} s of audio: check that it matches the recording"
            ) from None
    return build_segmentation(graph, path, words, model.features.hop_s, audio.duration_s,
                              audio.sample_rate)
