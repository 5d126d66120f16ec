"""HTTP API (FastAPI): a thin shell over :func:`vowelseg.segment`.

Every user-facing error is a :class:`vowelseg.errors.VowelsegError`; the HTTP
status each kind maps to is :data:`STATUS`, here and nowhere else. Alignments
run in worker threads (the Viterbi and NumPy release the GIL), admitted by a
:class:`~vowelseg.service.gate.Gate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from vowelseg import __version__
from vowelseg.audio.io import Audio, read_audio
from vowelseg.cores import usable_cores
from vowelseg.errors import (
    AlignmentError,
    AudioError,
    BusyError,
    EmptyAudioError,
    InvalidAudioError,
    LimitError,
    ModelError,
    NoSpeechError,
    TranscriptError,
    VowelsegError,
)
from vowelseg.hmm.model import resolve_model
from vowelseg.options import Options, PublicOptions
from vowelseg.pipeline import Resources, load_resources, measure, segment
from vowelseg.render import OUTPUTS, render, to_json
from vowelseg.reply import Reply, build
from vowelseg.result import Segmentation
from vowelseg.service.form import form_fields
from vowelseg.service.gate import Gate
from vowelseg.service.logs import configure_logging, log
from vowelseg.service.settings import ServiceSettings

#: HTTP status of each kind of error (the most specific class listed wins).
STATUS: dict[type[VowelsegError], int] = {
    VowelsegError: 400,
    AudioError: 415,
    InvalidAudioError: 422,
    EmptyAudioError: 422,
    TranscriptError: 422,
    AlignmentError: 422,
    NoSpeechError: 422,
    LimitError: 413,
    BusyError: 503,
    ModelError: 500,
}
#: Header with the reply's warning codes, for outputs other than JSON.
WARNINGS_HEADER = "X-Vowelseg-Warnings"
#: Seconds a client is told to wait after a 503.
RETRY_AFTER_S = 5


def status_of(exc: VowelsegError) -> int:
    """The HTTP status of an error: that of its nearest class in :data:`STATUS`."""
    return next(STATUS[k] for k in type(exc).__mro__ if k in STATUS)


class ErrorReply(BaseModel):
    """Every refusal and failure: what was wrong, and the request's id."""

    error: str
    request_id: str


_FORM_OVERHEAD = 1_000_000  # room for the form's other fields and multipart framing
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ERRORS = {413: "over a limit (the message names the setting and its value)",
           415: "audio that cannot be decoded",
           422: "bad transcript, parameters or form; or a transcript that does not fit the audio",
           500: "a bug (the request id is in the server log)",
           503: "busy or timed out; retry after the Retry-After seconds"}
def _error(request: Request, status: int, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    return JSONResponse(status_code=status, headers=headers,
                        content={"error": message, "request_id": request_id})


def check_upload(settings: ServiceSettings, upload_bytes: int | None) -> None:
    """Refuse, before any work, an upload over the limit.

    Raises
    ------
    LimitError
    """
    if upload_bytes is not None and upload_bytes > settings.max_upload_bytes:
        raise LimitError(f"the upload is {upload_bytes} bytes, over the limit of "
                         f"{settings.max_upload_bytes} bytes (VOWELSEG_MAX_UPLOAD_BYTES)")


def measure_processes(settings: ServiceSettings) -> int:
    """Processes measuring one long recording's vowels: the cores shared out
    among the requests that run side by side (``max_concurrent``)."""
    return max(1, usable_cores() // settings.max_concurrent)


def check_transcript(settings: ServiceSettings, transcript: str) -> None:
    """Refuse, before any work, a transcript over the limit, with a NUL, or empty.

    Raises
    ------
    LimitError, TranscriptError
    """
    if len(transcript) > settings.max_transcript_chars:
        raise LimitError(f"the transcript has {len(transcript)} characters, over the "
                         f"limit of {settings.max_transcript_chars} "
                         "(VOWELSEG_MAX_TRANSCRIPT_CHARS)")
    if "\x00" in transcript:
        raise TranscriptError("the transcript contains a NUL character")
    if not transcript.strip():
        raise TranscriptError("the transcript is empty: send the words spoken in the audio "
                              "as the form field 'transcript'")


def render_reply(output: str, audio: Audio, seg: Segmentation, mode: str,
                 fade_ms: float) -> Response:
    """The reply body for one ``output`` format, rendered from the reply
    (:class:`~vowelseg.reply.Reply`, the JSON body's model)."""
    reply = build(seg)
    if output == "json":
        return JSONResponse(to_json(reply))
    body = render(output, audio, reply, mode, fade_ms / 1000.0)
    media_type, filename = OUTPUTS[output].media_type, OUTPUTS[output].download
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else {}
    if reply.warnings:  # the JSON reply lists them; other formats carry the codes here
        headers[WARNINGS_HEADER] = ",".join(w.code for w in reply.warnings)
    return Response(body, media_type=media_type, headers=headers)


#: The browser page and its icon.
WEB_DIR = Path(__file__).parent / "web"


@functools.cache
def _page() -> str:
    """The browser page (read once)."""
    return (WEB_DIR / "index.html").read_text()


def _resources(app: FastAPI) -> Resources:
    """The model and lexicon, loaded on first use (the lifespan does it at start-up)
    and kept with the app, with the model's licence from its card."""
    if app.state.resources is None:
        app.state.resources = load_resources(app.state.model_path)
        app.state.model_licence = app.state.resources.model.card.get("licence", "not stated")
    return app.state.resources


def _gate(app: FastAPI) -> Gate:
    """The admission gate of the running event loop (a server has one loop; test
    clients may start more)."""
    loop = id(asyncio.get_running_loop())
    if loop not in app.state.gates:
        app.state.gates.clear()
        app.state.gates[loop] = Gate(app.state.settings)
    return app.state.gates[loop]


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(_resources, app)  # load before the first request
    _gate(app)
    log.info("model %s loaded; its licence: %s", app.state.model_path.name,
             app.state.model_licence)
    yield


async def _request_frame(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Every request: an id for the logs and the reply, the declared size checked
    before the body is read, a bug turned into a 500 without internals, a log line."""
    settings: ServiceSettings = request.app.state.settings
    given = request.headers.get("x-request-id", "")
    request.state.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
    start = time.perf_counter()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_upload_bytes + _FORM_OVERHEAD:
        reply: Response = _error(
            request, 413, f"the request is {declared} bytes, over the upload limit of "
                          f"{settings.max_upload_bytes} bytes (VOWELSEG_MAX_UPLOAD_BYTES)")
    else:
        try:
            reply = await call_next(request)
        except Exception:  # a bug: log it with the id, answer without internals
            log.exception("unhandled error", extra={"request_id": request.state.request_id})
            reply = _error(request, 500, "internal error: please report it with the request id")
    reply.headers["X-Request-ID"] = request.state.request_id
    log.info("request", extra={"request_id": request.state.request_id,
                               "method": request.method, "path": request.url.path,
                               "status": reply.status_code,
                               "ms": round(1000 * (time.perf_counter() - start), 1)})
    return reply


async def _user_error(request: Request, exc: VowelsegError) -> JSONResponse:
    status = status_of(exc)
    if status == 500:  # the server's fault (a model that cannot be read): log it, hide paths
        log.error("server fault: %s", exc.message,
                  extra={"request_id": getattr(request.state, "request_id", "-")})
        return _error(request, status, "internal error: please report it with the request id")
    headers = {"Retry-After": str(RETRY_AFTER_S)} if isinstance(exc, BusyError) else None
    return _error(request, status, exc.message, headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return _error(request, exc.status_code, str(exc.detail))


async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'body'}: {e.get('msg')}"
        for e in exc.errors()
    )
    return _error(request, 422, f"invalid request ({problems}); POST multipart/form-data "
                                "with 'audio' (a file) and 'transcript' (text)")


router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    """The browser page: upload or record, see and hear the vowels, download."""
    return HTMLResponse(_page())


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    """The page's icon: an SVG (browsers accept any image type under this name)."""
    return FileResponse(WEB_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get("/health", responses={500: {"model": ErrorReply}})
async def health(request: Request) -> dict:
    """Liveness, the loaded model and the alignment slots in use."""
    app, gate = request.app, _gate(request.app)
    return {"status": "ok", "version": __version__, "model": app.state.model_path.name,
            "model_licence": app.state.model_licence,  # set when the model is loaded
            "running": gate.running, "waiting": gate.waiting,
            "max_concurrent": app.state.settings.max_concurrent,
            "max_queue": app.state.settings.max_queue}


@router.post(
    "/segment",
    responses={200: {"model": Reply,
                     "content": {"application/json": {}, "audio/wav": {},
                                 "text/plain": {}, "image/png": {}, "text/csv": {}}},
               **{code: {"model": ErrorReply, "description": why}
                  for code, why in _ERRORS.items()}},
)
async def segment_endpoint(
    request: Request,
    audio: Annotated[UploadFile, File(description="Recording: WAV, FLAC, OGG or MP3")],
    # one form field per option, after the fields below in the form's schema
    public_options: Annotated[PublicOptions, Depends(form_fields(PublicOptions))],
    transcript: Annotated[str, Form(
        description="the words spoken, in order (English); numbers, symbols and accented "
                    "letters are spelt out")] = "",
    output: Annotated[Literal["json", "wav", "textgrid", "png", "csv", "vowel-chart"], Form(
        description="json: intervals; wav: vowel-only audio; textgrid: Praat tiers words, "
                    "phones, vowels, confidence; png: waveform and spectrogram with the "
                    "vowels; csv: a row per vowel with its measurements; vowel-chart: an "
                    "F1/F2 chart (PNG)")] = "json",
    mode: Annotated[Literal["concat", "mask"], Form(
        description="output=wav: the vowels back to back (concat), or the recording's "
                    "length with all but the vowels silenced (mask)")] = "concat",
    fade_ms: Annotated[float, Form(
        ge=0.0, le=50.0, allow_inf_nan=False,
        description="output=wav: fade, ms, taken from the audio just outside each vowel so "
                    "cuts do not click")] = 5.0,
) -> Response:
    """Align the transcript to the audio; reply with vowel intervals or audio."""
    settings: ServiceSettings = request.app.state.settings
    check_upload(settings, audio.size)
    check_transcript(settings, transcript)
    options = Options(**{**public_options.model_dump(),
                         "measures": public_options.measures or output in ("csv", "vowel-chart"),
                         "measure_processes": measure_processes(settings)})
    resources = _resources(request.app)
    upload = audio.file  # spooled to a temporary file by the form parser, not held in memory

    def work() -> Response:
        upload.seek(0)
        decoded = read_audio(upload, max_duration_s=settings.max_duration_s)
        seg = segment(decoded, transcript, resources, options)
        return render_reply(output, decoded, seg, mode, fade_ms)

    return await _gate(request.app).run(work)


@router.post(
    "/measure",
    responses={200: {"model": Reply,
                     "content": {"application/json": {}, "text/csv": {}, "image/png": {}}},
               **{code: {"model": ErrorReply, "description": why}
                  for code, why in _ERRORS.items()}},
)
async def measure_endpoint(
    request: Request,
    audio: Annotated[UploadFile, File(description="Recording: WAV, FLAC, OGG or MP3")],
    textgrid: Annotated[UploadFile, File(description="Its TextGrid: a phone tier of ARPAbet "
                                                     "with stress digits")],
    output: Annotated[Literal["json", "csv", "vowel-chart"], Form()] = "csv",
    tier: Annotated[str | None, Form(description="The phone tier's name (default: 'phones' "
                                                 "or '… - phones')")] = None,
) -> Response:
    """Measure the vowels of an existing alignment (vowelseg's or the Montreal
    Forced Aligner's TextGrid)."""
    settings: ServiceSettings = request.app.state.settings
    check_upload(settings, audio.size)
    grid = (await textgrid.read()).decode("utf-8", errors="replace")
    upload = audio.file

    def work() -> Response:
        upload.seek(0)
        decoded = read_audio(upload, max_duration_s=settings.max_duration_s)
        return render_reply(output, decoded, measure(decoded, grid, tier or None,
                                                     processes=measure_processes(settings)),
                            "concat", 0.0)

    return await _gate(request.app).run(work)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The ASGI application; the model and lexicon load at start-up.

    Parameters
    ----------
    settings : ServiceSettings, optional
        Model and limits; read from the ``VOWELSEG_*`` environment by default.

    Raises
    ------
    ModelError
        If ``settings.model`` names no model.
    """
    settings = settings or ServiceSettings()
    if settings.json_log:
        configure_logging()
    app = FastAPI(title="vowelseg", version=__version__, lifespan=_lifespan,
                  description="Where every vowel is in a speech recording, given its "
                              "transcript.")
    app.state.settings = settings
    app.state.model_path = resolve_model(settings.model)
    app.state.resources = None
    app.state.model_licence = None
    app.state.gates = {}
    app.middleware("http")(_request_frame)
    app.add_exception_handler(VowelsegError, _user_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.include_router(router)
    return app
