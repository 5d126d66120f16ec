"""Exceptions with messages meant for a person.

Each class carries the HTTP status it maps to; the API turns any
:class:`VowelsegError` into a JSON error reply in one place
(:func:`vowelseg.service.api.create_app`).
"""

from __future__ import annotations


class VowelsegError(Exception):
    """Base class: something the user can fix (bad input, limits)."""

    status_code: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AudioError(VowelsegError):
    """The audio could not be read or is unusable."""

    status_code = 415


class InvalidAudioError(AudioError):
    """The audio decodes but cannot be used (truncated, NaN or infinite samples)."""

    status_code = 422


class EmptyAudioError(AudioError):
    """The audio decodes to too few samples to analyse."""

    status_code = 422


class TranscriptError(VowelsegError):
    """The transcript is empty or has nothing pronounceable."""

    status_code = 422


class LimitError(VowelsegError):
    """A configured limit (size, duration, length) was exceeded."""

    status_code = 413


class AlignmentError(VowelsegError):
    """The transcript could not be fitted to the audio."""

    status_code = 422


class BusyError(VowelsegError):
    """No alignment slot came free in time, or too many requests are waiting."""

    status_code = 503
    retry_after_s = 5


class ModelError(VowelsegError):
    """The acoustic model named does not exist or cannot be read."""
