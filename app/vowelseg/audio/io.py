"""Audio in and out: decode any soundfile format, keep the original samples.

The decoded samples keep the file's own sample type (16-bit files stay
``int16``, 24/32-bit ``int32``, float files float), so audio written back
is a bit-exact copy of what was read. Analysis uses a separate 16 kHz mono
float signal made from it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from vowelseg.errors import AudioError, EmptyAudioError, InvalidAudioError, LimitError

ACCEPTED = "WAV (8/16/24/32-bit PCM, 32/64-bit float, µ-law, A-law), FLAC, OGG (Vorbis/Opus), MP3"
MIN_RATE, MAX_RATE = 8000, 192000
MIN_DURATION_S = 0.1

_DTYPE_OF_SUBTYPE = {
    "PCM_S8": "int16", "PCM_U8": "int16", "PCM_16": "int16", "ULAW": "int16",
    "ALAW": "int16", "PCM_24": "int32", "PCM_32": "int32", "FLOAT": "float32",
    "DOUBLE": "float64",
}
#: Containers whose header states the exact length (MP3 and OGG only estimate it).
_EXACT_LENGTH_FORMATS = {"WAV", "WAVEX", "RF64", "W64", "AIFF", "FLAC", "CAF"}
_WAV_SUBTYPES = {"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"}


@dataclass(frozen=True)
class Audio:
    """Decoded audio.

    Attributes
    ----------
    samples : np.ndarray
        ``(n_samples, n_channels)`` in the file's own sample type.
    sample_rate : int
        Hz.
    format, subtype : str
        soundfile's names for the container and the sample encoding.
    """

    samples: np.ndarray
    sample_rate: int
    format: str
    subtype: str

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.samples.shape[0])

    @property
    def n_channels(self) -> int:
        """Channel count."""
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sample_rate


def read_audio(source: bytes | str | Path | BinaryIO, max_duration_s: float | None = None) -> Audio:
    """Decode an audio file.

    Parameters
    ----------
    source : bytes, path or binary file
        The encoded file.
    max_duration_s : float, optional
        Refuse longer audio, checked from the header before decoding.

    Raises
    ------
    AudioError
        Unreadable, unsupported or invalid audio (the message says which).
    EmptyAudioError
        Too few samples.
    LimitError
        Longer than ``max_duration_s``.
    """
    start = 0
    if isinstance(source, bytes | bytearray):
        if not source:
            raise EmptyAudioError(f"the audio file is empty (0 bytes); send {ACCEPTED}")
        source = io.BytesIO(source)
    elif isinstance(source, str | Path) and not Path(source).is_file():
        raise AudioError(f"no such file: {source}")
    elif hasattr(source, "seek"):
        start = source.tell()
        empty = source.seek(0, io.SEEK_END) == start
        source.seek(start)
        if empty:
            raise EmptyAudioError(f"the audio file is empty (0 bytes); send {ACCEPTED}")
    try:
        with sf.SoundFile(source) as f:
            rate, frames, fmt, subtype = f.samplerate, f.frames, f.format, f.subtype
            _check_header(rate, frames, max_duration_s)
            samples = f.read(dtype=_DTYPE_OF_SUBTYPE.get(subtype, "float32"), always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"could not decode the audio ({_reason(exc)}); send {ACCEPTED}") from exc
    if fmt == "MP3":
        samples = samples[mp3_leading_samples(_head(source, start)):]
    if len(samples) < MIN_DURATION_S * rate:
        raise EmptyAudioError(
            f"the audio holds {len(samples)} samples ({len(samples) / rate:.3f} s): "
            f"at least {MIN_DURATION_S} s is needed"
        )
    missing = _missing_wav_bytes(source) if fmt == "WAV" else 0
    if missing > 0 or (fmt in _EXACT_LENGTH_FORMATS and len(samples) < frames):
        raise InvalidAudioError(
            "the audio file is truncated: its header announces more samples than it holds "
            f"({len(samples)} present); send the complete file")
    if samples.dtype.kind == "f" and not np.isfinite(samples).all():
        raise InvalidAudioError("the audio contains NaN or infinite sample values")
    return Audio(samples=samples, sample_rate=int(rate), format=fmt, subtype=subtype)


#: What an MP3 decoder outputs before the first encoded sample when the file does
#: not say: LAME's default encoder delay (576) plus the decoder's delay (529).
MP3_DEFAULT_DELAY_SAMPLES = 576 + 529


def mp3_leading_samples(head: bytes) -> int:
    """Samples to drop from the start of a decoded MP3 so that its times are the
    original's.

    libsndfile's decoder (mpg123) removes the encoder and decoder delay itself
    when the first frame carries a Xing/Info header with a LAME extension (what
    lame, ffmpeg and most encoders write): then 0. Without one (sox, lame at
    some rates), nothing says how long the delay is and it is left in: then
    LAME's default, :data:`MP3_DEFAULT_DELAY_SAMPLES`.

    Parameters
    ----------
    head : bytes
        The file's first bytes (its ID3v2 tag, if any, and the first frame).
    """
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:  # skip the ID3v2 tag
        start = 10 + _syncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
    while start + 1 < len(head) and not (head[start] == 0xFF and head[start + 1] & 0xE0 == 0xE0):
        start += 1
    frame = head[start:start + 2048]
    for tag in (b"Xing", b"Info"):
        at = frame.find(tag, 4, 64)
        if at < 0:
            continue
        flags = int.from_bytes(frame[at + 4:at + 8], "big")
        lame = at + 8 + 4 * (flags & 1) + 4 * (flags >> 1 & 1) + 100 * (flags >> 2 & 1) \
            + 4 * (flags >> 3 & 1)
        encoder = frame[lame:lame + 4]
        if len(encoder) == 4 and all(32 < c < 127 for c in encoder):
            return 0
    return MP3_DEFAULT_DELAY_SAMPLES


def _syncsafe(four: bytes) -> int:
    """An ID3v2 size: four bytes of seven bits each."""
    return sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(four))


def _head(source: str | Path | BinaryIO, start: int = 0, size: int = 1 << 16) -> bytes:
    """The first ``size`` bytes of a file from ``start`` (where the decoder began;
    a file object is left where it was), more if an ID3v2 tag (album art, say)
    is longer than that."""
    if isinstance(source, str | Path):
        with open(source, "rb") as f:
            return _head(f, start, size)
    at = source.tell()
    try:
        source.seek(start)
        head = source.read(size)
        if head[:3] == b"ID3" and len(head) >= 10:
            tag = 10 + _syncsafe(head[6:10]) + 10
            if tag + 4096 > size:
                source.seek(start)
                head = source.read(tag + 4096)
        return head
    finally:
        source.seek(at)


def _missing_wav_bytes(source: str | Path | BinaryIO) -> int:
    """Bytes a RIFF/WAVE file's ``data`` chunk declares beyond the end of the file
    (0 if complete, streamed with an unknown size, or not plain RIFF)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as f:
            return _missing_wav_bytes(f)
    start = source.tell()
    try:
        source.seek(0)
        head = source.read(1 << 16)
        total = source.seek(0, io.SEEK_END)
    finally:
        source.seek(start)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if chunk == b"data":
            return 0 if size in (0, 0xFFFFFFFF) else max(0, pos + 8 + size - total)
        pos += 8 + size + (size & 1)
    return 0


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.split(": ", 1)[-1] if "Error opening" in text else text


def _check_header(rate: int, frames: int, max_duration_s: float | None) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(
            f"sample rate {rate} Hz is not supported: {MIN_RATE}-{MAX_RATE} Hz is accepted"
        )
    if max_duration_s is not None and frames > max_duration_s * rate:
        raise LimitError(
            f"the audio lasts {frames / rate:.1f} s, over the limit of {max_duration_s:g} s "
            "(VOWELSEG_MAX_DURATION_S)"
        )


def to_float(samples: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1], whatever their stored type."""
    if samples.dtype.kind == "i":
        scale = np.float32(1.0 / -np.iinfo(samples.dtype).min)
        return samples.astype(np.float32) * scale
    return samples.astype(np.float32)


def mono_float(samples: np.ndarray, block_samples: int = 1 << 20) -> np.ndarray:
    """``(n_samples, n_channels)`` samples as one float32 channel (their mean),
    converted a block at a time so no full-length float64 copy is made."""
    if samples.shape[1] == 1:
        return to_float(samples[:, 0])
    out = np.empty(len(samples), dtype=np.float32)
    for first in range(0, len(samples), block_samples):
        out[first:first + block_samples] = to_float(
            samples[first:first + block_samples]).mean(axis=1, dtype=np.float32)
    return out


def analysis_signal(audio: Audio, sample_rate: int = 16000) -> np.ndarray:
    """Mono float32 signal at ``sample_rate`` (channels averaged, resampled)."""
    mono = mono_float(audio.samples)
    if audio.sample_rate != sample_rate:
        # soxr "HQ" is librosa.resample's default: the same samples as before
        mono = soxr.resample(mono, audio.sample_rate, sample_rate, quality="HQ")
    return mono.astype(np.float32, copy=False)


def wav_subtype(audio: Audio, samples: np.ndarray) -> str:
    """The WAV sample encoding that stores ``samples`` of ``audio`` exactly."""
    if audio.format == "WAV" and audio.subtype in _WAV_SUBTYPES:
        return audio.subtype
    if samples.dtype == np.int16:
        return "PCM_16"
    if samples.dtype == np.int32:
        return "PCM_24" if audio.subtype == "PCM_24" else "PCM_32"
    return "DOUBLE" if samples.dtype == np.float64 else "FLOAT"


def write_wav(audio: Audio, samples: np.ndarray) -> bytes:
    """Encode ``samples`` (same type and channels as ``audio.samples``) as WAV."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, audio.sample_rate, format="WAV",
             subtype=wav_subtype(audio, samples))
    return buffer.getvalue()
