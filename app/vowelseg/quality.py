"""What is doubtful about a reply: the ``warnings`` every reply carries.

Each rule looks at evidence the pipeline already has (the decoded samples, the
VAD's pauses, where each word's pronunciation came from, the per-frame
log-likelihood ratio of the aligned states against the best state of any
phone) and adds a :class:`~vowelseg.result.ReplyWarning` with a stable code:

=======================  ====================================================
code                     given when
=======================  ====================================================
``transcript_mismatch``  ``exact`` matching, and the aligned states fit the
                         speech far worse than a free phone loop does:
                         :func:`mismatch_score` (the mean ratio, and the worst
                         1 s and 2 s windows', weighed) is above 0
``untranscribed_speech``  ``approximate`` matching found speech the transcript
                         lacks (at least :data:`UNTRANSCRIBED_MIN_S` in all) or
                         transcript words that were not spoken
``words_guessed``        at least half the words are not in the dictionary
                         and were guessed by the neural model
``mostly_numbers``       at least half the words are numbers spelt out
``low_confidence``       the words' mean confidence is below
                         :data:`LOW_MEAN_CONFIDENCE`
``clipped``              at least :data:`CLIPPED_SHARE` of the samples sit at
                         full scale
``quiet``                the speech (outside the VAD's pauses) is below
                         :data:`QUIET_DBFS`
=======================  ====================================================

The thresholds were chosen on timit-dev with speaker-held-out models and
checked on synthetic speech (``vowelseg bench-input`` prints the rates).
"""

from __future__ import annotations

import re

import numpy as np

from vowelseg.audio.io import Audio
from vowelseg.result import ReplyWarning, Segmentation
from vowelseg.text.g2p import Word, expand_text, tokenize

#: Weights of :func:`mismatch_score` on the mean log-likelihood ratio and on its
#: worst 1 s and 2 s windows, and the offset: a logistic regression fitted on
#: timit-dev, each utterance aligned by a model fitted without its speaker, with
#: its own transcript, another utterance's, and its own with the last third of
#: the words dropped (``vowelseg bench-input`` reruns the check).
MISMATCH_WEIGHTS = (-0.886, -1.846, -1.144)
MISMATCH_OFFSET = -15.905
#: The windows of :func:`mismatch_evidence`, frames (5 ms).
MISMATCH_WINDOWS_FRAMES = (200, 400)
UNTRANSCRIBED_MIN_S = 0.5
LOW_MEAN_CONFIDENCE = 0.25
CLIPPED_SHARE = 0.001
QUIET_DBFS = -45.0


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
    sums = np.cumsum(np.concatenate([[0.0], frame_llr.astype(np.float64)]))
    worst = [float((sums[w:] - sums[:-w]).min() / w) if len(frame_llr) > w
             else float(sums[-1] / len(frame_llr)) for w in windows]
    return (float(frame_llr[speech].mean()), *worst)


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
    if words and spoken >= len(words) / 2:
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
        step = 1 << 8 if audio.subtype == "PCM_24" else 1  # 24-bit sits in int32's top bits
        high, low = info.max - step + 1, info.min + step - 1
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


def alignment_warnings(seg: Segmentation, approximate: bool,
                       evidence: tuple[float, ...]) -> list[ReplyWarning]:
    """Warnings about the alignment: a transcript that does not fit, speech left
    out of it, low confidence overall.

    Parameters
    ----------
    seg : Segmentation
    approximate : bool
        The transcript was matched approximately (words may be skipped).
    evidence : tuple of float
        :func:`mismatch_evidence` of the alignment.
    """
    out = []
    if not approximate and mismatch_score(evidence) > 0:
        mean, worst = evidence[0], min(evidence[1:])
        out.append(ReplyWarning(
            "transcript_mismatch",
            "the transcript may not match the audio: the speech fits the transcript's "
            f"phones far worse than any phones (mean {mean:.1f}, worst second {worst:.1f} "
            "nats a frame). Check the transcript, or send "
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
