"""Decoding: formats, sample types, rates, channels, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
from vowelseg.audio.io import analysis_signal, read_audio, write_wav
from vowelseg.errors import AudioError, EmptyAudioError, LimitError

from tests.conftest import wav_bytes

RNG = np.random.default_rng(1)
TONE = (0.3 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)).astype(np.float32)


@pytest.mark.parametrize(
    ("fmt", "subtype", "dtype"),
    [("WAV", "PCM_U8", np.int16), ("WAV", "PCM_16", np.int16), ("WAV", "PCM_24", np.int32),
     ("WAV", "FLOAT", np.float32), ("FLAC", "PCM_16", np.int16), ("FLAC", "PCM_24", np.int32),
     ("OGG", "VORBIS", np.float32), ("MP3", "MPEG_LAYER_III", np.float32)],
)
def test_formats_decode_to_their_own_sample_type(fmt, subtype, dtype):
    audio = read_audio(wav_bytes(TONE, 22050, subtype, fmt))
    assert audio.samples.dtype == dtype
    assert audio.sample_rate == 22050
    assert abs(audio.duration_s - 1.0) < 0.06  # MP3 pads a few frames
    mono = analysis_signal(audio)
    assert abs(len(mono) - 16000 * audio.duration_s) <= 2
    assert 0.15 < np.abs(mono).max() < 0.4


def test_integer_samples_round_trip_bit_exact():
    stereo = RNG.integers(-32768, 32767, size=(8000, 2), dtype=np.int16)
    audio = read_audio(wav_bytes(stereo, 44100))
    assert np.array_equal(audio.samples, stereo)
    again = read_audio(write_wav(audio, audio.samples))
    assert np.array_equal(again.samples, stereo) and again.subtype == "PCM_16"


def test_channels_are_averaged_for_analysis():
    stereo = np.stack([TONE, np.zeros_like(TONE)], axis=1)
    mono = analysis_signal(read_audio(wav_bytes(stereo, 22050, "FLOAT")))
    assert 0.13 < np.abs(mono).max() < 0.17


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", EmptyAudioError, "empty"),
        (b"this is plainly not audio" * 40, AudioError, "could not decode"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", AudioError, "could not decode"),
        (wav_bytes(np.zeros(10, np.float32), 16000), EmptyAudioError, "at least"),
        (wav_bytes(np.full(4000, np.nan, np.float32), 16000, "FLOAT"), AudioError, "NaN"),
    ],
)
def test_bad_audio_is_refused_with_a_reason(data, error, words):
    with pytest.raises(error) as info:
        read_audio(data)
    assert words in info.value.message
    assert "WAV" in info.value.message or error is not AudioError or "NaN" in words


def test_duration_limit_is_checked_from_the_header():
    with pytest.raises(LimitError, match="over the limit of 0.5 s"):
        read_audio(wav_bytes(TONE, 22050), max_duration_s=0.5)
