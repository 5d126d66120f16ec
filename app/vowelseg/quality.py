"""What is doubtful about a reply: the ``warnings`` every reply carries.

Each rule looks at evidence the pipeline already has (the decoded samples, the
VAD's pauses, where each word's pronunciation came from, the per-frame
log-likelihood ratio of the aligned states against the best state of any
phone) and adds a :class:`~vowelseg.result.ReplyWarning` with one of the
stable codes of :data:`vowelseg.warning_codes.WARNING_CODES` (which says when
each is given, with the thresholds; the README's table and the API schema are
generated from it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from vowelseg.align.alignment import Alignment
from vowelseg.align.graph import PAUSE_WORD
from vowelseg.audio.io import Audio, analysis_signal
from vowelseg.audio.speech import speech_windows
from vowelseg.result import ReplyWarning, Segmentation
from vowelseg.text.g2p import Word, expand_text, tokenize
from vowelseg.warning_codes import (
    CLIPPED_SHARE,
    LOW_MEAN_CONFIDENCE,
    QUIET_DBFS,
    UNTRANSCRIBED_MIN_S,
)

#: Weights of :func:`mismatch_score` on the mean log-likelihood ratio and on its
#: worst 1 s and 2 s windows, and the offset: a logistic regression fitted on
#: timit-dev, each utterance aligned by a model fitted without its speaker, with
#: its own transcript, another utterance's, and its own with the last third of
#: the words dropped (``vowelseg-lab bench-input`` reruns the check).
MISMATCH_WEIGHTS = (-0.886, -1.846, -1.144)
MISMATCH_OFFSET = -15.905
#: The windows of :func:`mismatch_evidence`, frames (5 ms).
MISMATCH_WINDOWS_FRAMES = (200, 400)


def mismatch_evidence(frame_llr: np.ndarray, speech: np.ndarray,
                      windows: tuple[int, ...] = MISMATCH_WINDOWS_FRAMES) -> tuple[float, ...]:
    """``(mean, worst_1s, worst_2s)``: the mean log-likelihood ratio over the frames
    the path gives to words, and the lowest mean over any window of each length
    in ``windows`` of all frames, nats a frame. Pauses count in the windows:
    speech the transcript lacks is forced into a pause, which fits it badly.

    Parameters
    ----------
    frame_llr : np.ndarray
        ``(n_frames,)`` aligned state's log-likelihood minus the best state's (<= 0).
    speech : np.ndarray
        ``(n_frames,)`` bool: the frame is in a word.
    """
    if not speech.any():
        return (0.0,) * (1 + len(windows))
    worst = [float(frame_llr[slice(*worst_window(frame_llr, w))].astype(np.float64).mean())
             for w in windows]
    return (float(frame_llr[speech].mean()), *worst)


#: A pause with at least SOUND_FRAMES frames fitting worse than BAD_FRAME_NATS
#: holds some sound; only such pauses are checked for speech by
#: :func:`excuse_quiet_pauses` (a silent one fits, and is left as it is).
BAD_FRAME_NATS = -5.0
SOUND_FRAMES = 20


def worst_window(frame_llr: np.ndarray,
                 window: int = MISMATCH_WINDOWS_FRAMES[-1]) -> tuple[int, int]:
    """The frames ``[first, end)`` of the lowest-mean window of ``window`` frames."""
    if len(frame_llr) <= window:
        return 0, len(frame_llr)
    sums = np.cumsum(np.concatenate([[0.0], frame_llr.astype(np.float64)]))
    first = int(np.argmin(sums[window:] - sums[:-window]))
    return first, first + window


def excuse_quiet_pauses(frame_llr: np.ndarray, pause: np.ndarray,
                        is_speech: Callable[[int, int], bool], rounds: int = 3) -> np.ndarray:
    """``frame_llr`` with the path's pauses in the worst windows set to 0 (a
    perfect fit) where no speech is heard in them: a cough, a click or a door
    between sentences lands in a pause and fits it badly, as speech missing from
    the transcript does, but only the latter is a mismatch.

    Parameters
    ----------
    frame_llr : np.ndarray
        ``(n_frames,)`` per-frame log-likelihood ratio.
    pause : np.ndarray
        ``(n_frames,)`` bool: the frame is in one of the path's pauses.
    is_speech : callable
        ``is_speech(first_frame, end_frame)``: whether speech is heard there.
    rounds : int
        Worst windows looked at.
    """
    out = frame_llr.astype(np.float64)
    for _ in range(rounds):
        first, end = worst_window(out)
        inside = np.flatnonzero(pause[first:end]) + first
        if not len(inside) or out[inside].mean() > -1.0:
            break
        runs = np.split(inside, np.flatnonzero(np.diff(inside) > 1) + 1)
        quiet = [r for r in runs if np.count_nonzero(out[r] < BAD_FRAME_NATS) >= SOUND_FRAMES
                 and not is_speech(int(r[0]), int(r[-1]) + 1)]
        if not quiet:
            break
        for run in quiet:
            out[run] = 0.0
    return out


def fit_evidence(alignment: Alignment, audio: Audio, rate: int, exact: bool,
                 ) -> tuple[tuple[float, ...], tuple[float, float]]:
    """:func:`mismatch_evidence` of an alignment, and where its worst window is,
    seconds (:func:`worst_window`); with ``exact`` matching, its pauses in which
    no speech is heard are excused first (:func:`excuse_quiet_pauses`, checked
    on ``audio`` at ``rate``)."""
    llr = alignment.frame_llr
    frame_word = alignment.frame_words()
    hop_s = alignment.hop_s

    def heard(first: int, end: int) -> bool:  # speech in these frames of the file?
        a, b = (max(0, int(f * hop_s * audio.sample_rate)) for f in (first, end))
        piece = analysis_signal(Audio(audio.samples[a:b], audio.sample_rate, audio.format,
                                      audio.subtype), rate)
        return speech_windows(piece) > 0

    counted = excuse_quiet_pauses(llr, frame_word == PAUSE_WORD, heard) if exact else llr
    worst_s = tuple(f * hop_s for f in worst_window(counted))
    return mismatch_evidence(counted, frame_word >= 0), worst_s


def mismatch_score(evidence: tuple[float, ...]) -> float:
    """Above 0: the transcript likely does not match the audio (see
    :data:`MISMATCH_WEIGHTS`)."""
    return float(np.dot(MISMATCH_WEIGHTS, evidence) + MISMATCH_OFFSET)


def transcript_warnings(transcript: str, words: list[Word]) -> list[ReplyWarning]:
    """Warnings about the transcript alone: guessed words, numbers."""
    out = []
    guessed = [w.text for w in words if w.source == "neural"]
    if words and len(guessed) >= max(1, len(words) / 2):
        shown = ", ".join(guessed[:5]) + (" …" if len(guessed) > 5 else "")
        out.append(ReplyWarning(
            "words_guessed",
            f"{len(guessed)} of the {len(words)} words are not in the pronunciation "
            f"dictionary and were guessed ({shown}): the transcript may be misspelt or not "
            "English (vowelseg aligns English speech only)"))
    numbers = re.findall(r"\d[\d,.]*", transcript)
    spoken = len(tokenize(expand_text(" ".join(numbers)))) if numbers else 0
    offsets = re.match(r"\s*\d+\s+\d+\s+\D", transcript) is not None
    if words and (spoken >= 2 * len(words) / 3 or offsets):
        out.append(ReplyWarning(
            "mostly_numbers",
            f"{spoken} of the {len(words)} words are numbers spelt out ({', '.join(numbers[:3])}"
            f"{' …' if len(numbers) > 3 else ''}): if they are not spoken (sample offsets at "
            "the start of a TIMIT .txt file, say), remove them"))
    return out


def audio_warnings(audio: Audio, signal: np.ndarray, pause_mask: np.ndarray | None,
                   hop_samples: int) -> list[ReplyWarning]:
    """Warnings about the recording: clipped, or very quiet speech.

    Parameters
    ----------
    audio : Audio
        The decoded file (its own sample type tells full scale).
    signal : np.ndarray
        The analysis signal (mono float).
    pause_mask : np.ndarray or None
        Per frame, the VAD's pauses.
    hop_samples : int
        Frame shift of ``pause_mask`` in samples of ``signal``.
    """
    out = []
    clipped = _share_at_full_scale(audio)
    if clipped >= CLIPPED_SHARE:
        out.append(ReplyWarning(
            "clipped", f"the audio is clipped ({100 * clipped:.2f} % of the samples at full "
                       "scale): loud stretches are distorted and may be aligned worse"))
    level = _speech_level_dbfs(signal, pause_mask, hop_samples)
    if level is not None and level < QUIET_DBFS:
        out.append(ReplyWarning(
            "quiet", f"the speech is very quiet ({level:.0f} dBFS): noise weighs more and "
                     "the alignment may be worse; record closer to the microphone"))
    return out


def _share_at_full_scale(audio: Audio, block: int = 1 << 20) -> float:
    """Share of the samples (all channels) at the sample type's extremes (float:
    magnitude 0.999 or more), counted a block at a time."""
    samples = audio.samples
    if samples.dtype.kind == "i":
        info = np.iinfo(samples.dtype)
        # the largest code each encoding decodes to (8-bit, mu-law and A-law fall short
        # of int16's full scale; 24-bit sits in int32's top bits)
        high = {"PCM_U8": 32512, "PCM_S8": 32512, "ULAW": 32124, "ALAW": 32256,
                "PCM_24": info.max - 255}.get(audio.subtype, info.max)
        low = -high - 1 if audio.subtype in ("PCM_16", "PCM_32", "PCM_24") else -high
    else:
        high, low = 0.999, -0.999
    count = sum(int(np.count_nonzero((part >= high) | (part <= low)))
                for part in (samples[i:i + block] for i in range(0, len(samples), block)))
    return count / max(1, samples.size)


def _speech_level_dbfs(signal: np.ndarray, pause_mask: np.ndarray | None,
                       hop_samples: int, block_frames: int = 1 << 16) -> float | None:
    """RMS level of the frames outside the pauses, dBFS (None if there are none),
    summed a block of frames at a time (an hour is 230 MB of samples)."""
    n = min(len(signal) // hop_samples,
            len(pause_mask) if pause_mask is not None else len(signal))
    total, count = 0.0, 0
    for first in range(0, n, block_frames):
        last = min(n, first + block_frames)
        frames = signal[first * hop_samples:last * hop_samples].reshape(-1, hop_samples)
        keep = slice(None) if pause_mask is None else ~pause_mask[first:last]
        energy = np.einsum("ij,ij->i", frames, frames, dtype=np.float64)[keep]
        total += float(energy.sum())
        count += len(energy) * hop_samples
    if count == 0:
        return None
    return 10 * np.log10(total / count + 1e-30)


def alignment_warnings(seg: Segmentation, approximate: bool, evidence: tuple[float, ...],
                       worst_s: tuple[float, float] = (0.0, 0.0)) -> list[ReplyWarning]:
    """Warnings about the alignment: a transcript that does not fit, speech left
    out of it, low confidence overall.

    Parameters
    ----------
    seg : Segmentation
    approximate : bool
        The transcript was matched approximately (words may be skipped).
    evidence : tuple of float
        :func:`mismatch_evidence` of the alignment.
    worst_s : (float, float)
        Where its worst window is, seconds (:func:`worst_window`), for the message.
    """
    out = []
    if not approximate and mismatch_score(evidence) > 0:
        mean, worst = evidence[0], min(evidence[1:])
        out.append(ReplyWarning(
            "transcript_mismatch",
            "the transcript may not match the audio: the speech fits the transcript's "
            f"phones far worse than any phones (mean {mean:.1f}, worst second {worst:.1f} "
            f"nats a frame, worst around {worst_s[0]:.1f}-{worst_s[1]:.1f} s). Check the "
            "transcript there, or send "
            "transcript_match=approximate (CLI: --approximate) to let unspoken words be "
            "skipped and extra speech be marked untranscribed"))
    if approximate:
        extra = sum(b - a for a, b in seg.untranscribed)
        missing = [w.word for w in seg.words if not w.found]
        if extra >= UNTRANSCRIBED_MIN_S or missing:
            parts = ([f"{extra:.1f} s of speech not in the transcript"] if extra else []) + \
                ([f"{len(missing)} transcript words not spoken ({', '.join(missing[:5])})"]
                 if missing else [])
            out.append(ReplyWarning("untranscribed_speech",
                                    "the transcript does not match the audio everywhere: "
                                    + "; ".join(parts)))
    found = [w for w in seg.words if w.found]
    if found:
        weights = np.array([w.end - w.start for w in found])
        mean_conf = float(np.average([w.confidence for w in found],
                                     weights=weights if weights.sum() > 0 else None))
        if mean_conf < LOW_MEAN_CONFIDENCE:
            out.append(ReplyWarning(
                "low_confidence", f"the alignment is doubtful overall (mean word confidence "
                                  f"{mean_conf:.2f}): check the transcript and the audio"))
    return out
