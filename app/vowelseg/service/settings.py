"""The service's settings: read once from ``VOWELSEG_*`` environment variables
(or given), validated, and passed to every worker process as an object."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What ``vowelseg serve`` runs with; each field can be set by the
    environment variable ``VOWELSEG_<FIELD>``.

    Attributes
    ----------
    model : str
        ``VOWELSEG_MODEL``: a bundled model's name or a model's path.
    max_upload_bytes : int
        ``VOWELSEG_MAX_UPLOAD_BYTES``, default 2 GB (two hours of 48 kHz
        16-bit stereo WAV fit).
    max_duration_s : float
        ``VOWELSEG_MAX_DURATION_S``, default 7200 s (two hours).
    max_transcript_chars : int
        ``VOWELSEG_MAX_TRANSCRIPT_CHARS``, default 200 000 (two hours of
        speech is about 20 000 words).
    max_concurrent : int
        ``VOWELSEG_MAX_CONCURRENT``, alignments running at once in one server
        process, default 2.
    max_queue : int
        ``VOWELSEG_MAX_QUEUE``, requests waiting for a free slot before more
        are refused with 503, default 16.
    request_timeout_s : float
        ``VOWELSEG_REQUEST_TIMEOUT_S``, longest wait for a slot plus alignment
        before a 503, default 600 s.
    json_log : bool
        ``VOWELSEG_JSON_LOG``: log one JSON object per line to standard error
        (``vowelseg serve`` turns it on).
    """

    model_config = SettingsConfigDict(env_prefix="VOWELSEG_", frozen=True,
                                      protected_namespaces=())

    model: str = "vowelseg-en"
    max_upload_bytes: int = Field(2_000_000_000, gt=0)
    max_duration_s: float = Field(7200.0, gt=0.0)
    max_transcript_chars: int = Field(200_000, gt=0)
    max_concurrent: int = Field(2, ge=1)
    max_queue: int = Field(16, ge=0)
    request_timeout_s: float = Field(600.0, gt=0.0)
    json_log: bool = False
