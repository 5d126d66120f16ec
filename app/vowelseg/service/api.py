"""HTTP API (FastAPI): a thin shell over :func:`vowelseg.pipeline.segment`.

All user-facing errors are :class:`vowelseg.errors.VowelsegError` subclasses and
are turned into JSON replies with their status code here, in one place.
Alignments run in worker threads (the Viterbi and NumPy release the GIL),
at most ``max_concurrent`` at a time; a bounded number of requests may wait
for a slot, the rest get 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from vowelseg import __version__
from vowelseg.align.graph import STRICT, TOLERANT
from vowelseg.audio.io import read_audio
from vowelseg.boundaries.posterior import POSTERIOR_SCALE
from vowelseg.errors import BusyError, LimitError, TranscriptError, VowelsegError
from vowelseg.hmm.model import DEFAULT_MODEL
from vowelseg.pipeline import Options, Resources, load_resources, segment
from vowelseg.render import PNG_LEFT, PNG_WIDTH, to_json, to_png, to_textgrid, to_wav

log = logging.getLogger("vowelseg")
T = TypeVar("T")
MODEL_ENV = "VOWELSEG_MODEL"
LOG_ENV = "VOWELSEG_JSON_LOG"


class ErrorReply(BaseModel):
    """Every refusal and failure: what was wrong, and the request's id."""

    error: str
    request_id: str


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
    max_concurrent : int
        ``VOWELSEG_MAX_CONCURRENT``, alignments running at once in one
        server process, default 2.
    max_queue : int
        ``VOWELSEG_MAX_QUEUE``, requests waiting for a free slot before
        more are refused with 503, default 16.
    request_timeout_s : float
        ``VOWELSEG_REQUEST_TIMEOUT_S``, longest wait for a slot plus
        alignment before a 503, default 600 s.
    """

    max_upload_bytes: int = 2_000_000_000
    max_duration_s: float = 7200.0
    max_transcript_chars: int = 200_000
    max_concurrent: int = 2
    max_queue: int = 16
    request_timeout_s: float = 600.0

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from the environment, defaults where unset."""
        env = os.environ
        return cls(
            max_upload_bytes=int(env.get("VOWELSEG_MAX_UPLOAD_BYTES", cls.max_upload_bytes)),
            max_duration_s=float(env.get("VOWELSEG_MAX_DURATION_S", cls.max_duration_s)),
            max_transcript_chars=int(
                env.get("VOWELSEG_MAX_TRANSCRIPT_CHARS", cls.max_transcript_chars)),
            max_concurrent=int(env.get("VOWELSEG_MAX_CONCURRENT", cls.max_concurrent)),
            max_queue=int(env.get("VOWELSEG_MAX_QUEUE", cls.max_queue)),
            request_timeout_s=float(
                env.get("VOWELSEG_REQUEST_TIMEOUT_S", cls.request_timeout_s)),
        )


class Gate:
    """At most ``limits.max_concurrent`` jobs at once, ``limits.max_queue`` waiting.

    A job that times out keeps its slot until its thread finishes, so the
    number of running alignments never exceeds the limit.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.slots = asyncio.Semaphore(limits.max_concurrent)
        self.waiting = 0
        self.running = 0

    async def run(self, job: Callable[[], T]) -> T:
        """Run ``job`` in a worker thread when a slot is free."""
        limits = self.limits
        if self.waiting >= limits.max_queue:
            raise BusyError(f"the server is busy: {self.running} alignments running and "
                            f"{self.waiting} waiting (VOWELSEG_MAX_QUEUE={limits.max_queue}); "
                            "retry shortly")
        start = time.monotonic()
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout=limits.request_timeout_s)
        except TimeoutError:
            raise BusyError(f"no alignment slot came free within {limits.request_timeout_s:g} s "
                            "(VOWELSEG_REQUEST_TIMEOUT_S); retry later") from None
        finally:
            self.waiting -= 1
        self.running += 1
        task = asyncio.ensure_future(run_in_threadpool(job))
        task.add_done_callback(self._finished)
        left = max(0.0, limits.request_timeout_s - (time.monotonic() - start))
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=left)
        except TimeoutError:
            raise BusyError(f"the alignment took longer than {limits.request_timeout_s:g} s "
                            "(VOWELSEG_REQUEST_TIMEOUT_S)") from None

    def _finished(self, task: asyncio.Future) -> None:
        self.running -= 1
        self.slots.release()
        if not task.cancelled():
            task.exception()  # retrieved here; the awaiting request reports it


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, message and any ``extra`` fields."""

    FIELDS = ("request_id", "method", "path", "status", "ms", "audio_s", "error")

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                 "logger": record.name, "msg": record.getMessage()}
        entry.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["trace"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: int = logging.INFO) -> None:
    """Send vowelseg's log as JSON lines to standard error (called by ``vowelseg serve``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


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


def create_app(model_path: Path | None = None, limits: Limits | None = None) -> FastAPI:
    """The ASGI application; the model and lexicon load at start-up.

    Parameters
    ----------
    model_path : Path, optional
        Acoustic model; ``$VOWELSEG_MODEL`` or the bundled one by default.
    limits : Limits, optional
        Request limits; from the environment by default.
    """
    model_path = Path(model_path or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    limits = limits or Limits.from_env()
    if os.environ.get(LOG_ENV):  # set by `vowelseg serve`, also for its worker processes
        configure_logging()
    state: dict[str, Resources] = {}
    gates: dict[int, Gate] = {}

    def resources() -> Resources:
        if "r" not in state:
            state["r"] = load_resources(Path(model_path))
        return state["r"]

    def gate() -> Gate:  # one per event loop (a server has one; test clients may make more)
        loop = id(asyncio.get_running_loop())
        if loop not in gates:
            gates.clear()
            gates[loop] = Gate(limits)
        return gates[loop]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(resources)  # load the model before the first request
        gate()
        yield

    app = FastAPI(
        title="vowelseg",
        version=__version__,
        description="Where every vowel is in a speech recording, given its transcript.",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def _request_frame(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # A request id for the logs and the reply, and the declared size checked
        # before the body is read.
        given = request.headers.get("x-request-id", "")
        request.state.request_id = (given if _REQUEST_ID.fullmatch(given)
                                    else uuid.uuid4().hex[:16])
        start = time.perf_counter()
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_upload_bytes + _FORM_OVERHEAD:
            reply: Response = _error(
                request, 413, f"the request is {declared} bytes, over the upload limit of "
                              f"{limits.max_upload_bytes} bytes (VOWELSEG_MAX_UPLOAD_BYTES)")
        else:
            try:
                reply = await call_next(request)
            except Exception:  # a bug: log it with the id, answer without internals
                log.exception("unhandled error",
                              extra={"request_id": request.state.request_id})
                reply = _error(request, 500, "internal error: please report it with the "
                                             "request id")
        reply.headers["X-Request-ID"] = request.state.request_id
        log.info("request", extra={"request_id": request.state.request_id,
                                   "method": request.method, "path": request.url.path,
                                   "status": reply.status_code,
                                   "ms": round(1000 * (time.perf_counter() - start), 1)})
        return reply

    @app.exception_handler(VowelsegError)
    async def _user_error(request: Request, exc: VowelsegError) -> JSONResponse:
        headers = ({"Retry-After": str(exc.retry_after_s)}
                   if isinstance(exc, BusyError) else None)
        return _error(request, exc.status_code, exc.message, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        return _error(request, 422, f"invalid request ({problems}); POST multipart/form-data "
                                    "with 'audio' (a file) and 'transcript' (text)")

    page = ((Path(__file__).parent / "web" / "index.html").read_text()
            .replace("__PNG_LEFT__", repr(PNG_LEFT)).replace("__PNG_WIDTH__", repr(PNG_WIDTH)))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        """The browser page: upload or record, see and hear the vowels, download."""
        return HTMLResponse(page)

    @app.get("/health", responses={500: {"model": ErrorReply}})
    async def health() -> dict:
        """Liveness, the loaded model and the alignment slots in use."""
        g = gate()
        return {"status": "ok", "version": __version__, "model": model_path.name,
                "running": g.running, "waiting": g.waiting,
                "max_concurrent": limits.max_concurrent, "max_queue": limits.max_queue}

    @app.post(
        "/segment",
        responses={200: {"content": {"application/json": {}, "audio/wav": {},
                                     "text/plain": {}, "image/png": {}}},
                   **{code: {"model": ErrorReply, "description": why}
                      for code, why in _ERRORS.items()}},
    )
    async def segment_endpoint(
        audio: Annotated[UploadFile, File(description="Recording: WAV, FLAC, OGG or MP3")],
        transcript: Annotated[str, Form(description="The words spoken, in order")],
        output: Annotated[Literal["json", "wav", "textgrid", "png"], Form()] = "json",
        mode: Annotated[Literal["concat", "mask"], Form(description="For output=wav")] = "concat",
        fade_ms: Annotated[float, Form(ge=0.0, le=50.0, allow_inf_nan=False,
                                       description="Fade outside each vowel cut, ms")] = 5.0,
        vad_aggressiveness: Annotated[int, Form(ge=0, le=3)] = 3,
        transcript_match: Annotated[Literal["exact", "approximate"], Form(
            description="approximate: the transcript may miss or add words; unspoken "
                        "words come back found=false, extra speech as untranscribed")] = "exact",
        vtln: Annotated[bool, Form(
            description="fit the voice to the model by warping the mel filters "
                        "(vocal-tract-length normalisation; the warp is in the reply)")] = True,
        boundaries: Annotated[Literal["posterior", "viterbi"], Form(
            description="posterior: each boundary at its expected time under the model "
                        "given the audio around it; viterbi: at the best path's 5 ms frame "
                        "edges")] = "posterior",
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
        options = Options(vad_aggressiveness=vad_aggressiveness, vtln=vtln,
                          mismatch=TOLERANT if transcript_match == "approximate" else STRICT,
                          posterior_scale=POSTERIOR_SCALE if boundaries == "posterior" else None)
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
            if output == "png":
                return Response(to_png(decoded, seg), media_type="image/png")
            if output == "textgrid":
                return Response(to_textgrid(seg), media_type="text/plain; charset=utf-8",
                                headers={"Content-Disposition":
                                         'attachment; filename="vowels.TextGrid"'})
            return JSONResponse(to_json(seg))

        return await gate().run(work)

    return app
