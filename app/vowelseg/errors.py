"""The one error hierarchy: everything a user can fix, with a message that
says what was wrong and what to do. The HTTP status each maps to lives with
the service (:data:`vowelseg.service.api.STATUS`), the CLI's exit code with the
CLI."""

from __future__ import annotations


class VowelsegError(Exception):
    """Base class: something the user can fix (bad input, limits, settings)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AudioError(VowelsegError):
    """The audio could not be decoded."""


class InvalidAudioError(AudioError):
    """The audio decodes but cannot be used (truncated, NaN or infinite samples)."""


class EmptyAudioError(AudioError):
    """The audio decodes to too few samples to analyse."""


class TranscriptError(VowelsegError):
    """The transcript is empty or has nothing pronounceable."""


class LimitError(VowelsegError):
    """A configured limit (size, duration, length) was exceeded."""


class AlignmentError(VowelsegError):
    """The transcript could not be fitted to the audio."""


class NoSpeechError(VowelsegError):
    """The recording holds no speech (silence, noise, a tone, music...)."""


class BusyError(VowelsegError):
    """No alignment slot came free in time, or too many requests are waiting."""


class ModelError(VowelsegError):
    """The acoustic model named does not exist or cannot be read."""
