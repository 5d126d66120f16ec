"""HTTP API (FastAPI): a thin shell over :func:`app.pipeline.segment`.

All user-facing errors are :class:`app.errors.VowelsegError` subclasses and
are turned into JSON replies with their status code here, in one place.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from . import __version__
from .audio import read_audio
from .errors import LimitError, TranscriptError, VowelsegError
from .model import DEFAULT_MODEL
from .pipeline import Options, Resources, load_resources, segment
from .render import to_json, to_textgrid, to_wav

log = logging.getLogger("vowelseg")


@dataclass(frozen=True)
class Limits:
    """Request limits; each can be set by an environment variable.

    Attributes
    ----------
    max_upload_bytes : int
        ``VOWELSEG_MAX_UPLOAD_BYTES``, default 2 GB (two hours of 48 kHz
        16-bit stereo WAV fit).
    max_duration_s : float
        ``VOWELSEG_MAX_DURATION_S``, default 7200 s (two hours).
    max_transcript_chars : int
        ``VOWELSEG_MAX_TRANSCRIPT_CHARS``, default 200 000 (two hours of
        speech is about 20 000 words).
    """

    max_upload_bytes: int = 2_000_000_000
    max_duration_s: float = 7200.0
    max_transcript_chars: int = 200_000

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from the environment, defaults where unset."""
        env = os.environ
        return cls(
            max_upload_bytes=int(env.get("VOWELSEG_MAX_UPLOAD_BYTES", cls.max_upload_bytes)),
            max_duration_s=float(env.get("VOWELSEG_MAX_DURATION_S", cls.max_duration_s)),
            max_transcript_chars=int(
                env.get("VOWELSEG_MAX_TRANSCRIPT_CHARS", cls.max_transcript_chars)),
        )


_FORM_OVERHEAD = 1_000_000  # room for the form's other fields and multipart framing


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


def create_app(model_path: Path = DEFAULT_MODEL, limits: Limits | None = None) -> FastAPI:
    """The ASGI application; the model and lexicon load at start-up."""
    limits = limits or Limits.from_env()
    state: dict[str, Resources] = {}

    def resources() -> Resources:
        if "r" not in state:
            state["r"] = load_resources(Path(model_path))
        return state["r"]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(resources)  # load the model before the first request
        yield

    app = FastAPI(
        title="vowelseg",
        version=__version__,
        description="Where every vowel is in a speech recording, given its transcript.",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def _refuse_oversized(request: Request, call_next):  # noqa: ANN001, ANN202
        # Before the body is read: a declared length over the limit is refused at once.
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_upload_bytes + _FORM_OVERHEAD:
            return _error(413, f"the request is {declared} bytes, over the upload limit of "
                               f"{limits.max_upload_bytes} bytes (VOWELSEG_MAX_UPLOAD_BYTES)")
        return await call_next(request)

    @app.exception_handler(VowelsegError)
    async def _user_error(request: Request, exc: VowelsegError) -> JSONResponse:
        return _error(exc.status_code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return _error(422, f"invalid request ({problems}); POST multipart/form-data with "
                           "'audio' (a file) and 'transcript' (text)")

    @app.get("/health")
    async def health() -> dict:
        """Liveness and the loaded model."""
        return {"status": "ok", "version": __version__, "model": Path(model_path).name}

    @app.post(
        "/segment",
        responses={200: {"content": {"application/json": {}, "audio/wav": {},
                                     "text/plain": {}}},
                   413: {"description": "over a limit"},
                   415: {"description": "audio not readable"},
                   422: {"description": "bad transcript or parameters"}},
    )
    async def segment_endpoint(
        audio: Annotated[UploadFile, File(description="Recording: WAV, FLAC, OGG or MP3")],
        transcript: Annotated[str, Form(description="The words spoken, in order")],
        output: Annotated[Literal["json", "wav", "textgrid"], Form()] = "json",
        mode: Annotated[Literal["concat", "mask"], Form(description="For output=wav")] = "concat",
        fade_ms: Annotated[float, Form(ge=0.0, le=50.0,
                                       description="Fade outside each vowel cut, ms")] = 5.0,
        vad_aggressiveness: Annotated[int, Form(ge=0, le=3)] = 3,
    ) -> Response:
        """Align the transcript to the audio; reply with vowel intervals or audio."""
        if audio.size is not None and audio.size > limits.max_upload_bytes:
            raise LimitError(f"the upload is {audio.size} bytes, over the limit of "
                             f"{limits.max_upload_bytes} bytes (VOWELSEG_MAX_UPLOAD_BYTES)")
        if len(transcript) > limits.max_transcript_chars:
            raise LimitError(f"the transcript has {len(transcript)} characters, over the "
                             f"limit of {limits.max_transcript_chars} "
                             "(VOWELSEG_MAX_TRANSCRIPT_CHARS)")
        if "\x00" in transcript:
            raise TranscriptError("the transcript contains a NUL character")
        options = Options(vad_aggressiveness=vad_aggressiveness)
        upload = audio.file  # spooled to a temporary file by the form parser, not held in memory

        def work() -> Response:
            upload.seek(0)
            decoded = read_audio(upload, max_duration_s=limits.max_duration_s)
            seg = segment(decoded, transcript, resources(), options)
            if output == "wav":
                return Response(to_wav(decoded, seg, mode, fade_ms / 1000.0),
                                media_type="audio/wav",
                                headers={"Content-Disposition":
                                         'attachment; filename="vowels.wav"'})
            if output == "textgrid":
                return Response(to_textgrid(seg), media_type="text/plain; charset=utf-8",
                                headers={"Content-Disposition":
                                         'attachment; filename="vowels.TextGrid"'})
            return JSONResponse(to_json(seg))

        return await run_in_threadpool(work)

    return app
