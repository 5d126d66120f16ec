"""``vowelseg serve``: uvicorn with one or more worker processes, each building
the app from the same :class:`~vowelseg.service.settings.ServiceSettings`
object (uvicorn hands its config, settings included, to every worker it
starts, and starts a new one for any that dies)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from vowelseg.hmm.gmm import one_blas_thread
from vowelseg.hmm.model import resolve_model
from vowelseg.service.api import create_app
from vowelseg.service.settings import ServiceSettings

#: Environment variables the BLAS libraries read when they load: one thread
#: each, since requests already run side by side and BLAS threads on top of
#: them fight over the cores (docs/experiments.md, Speed). Set before the
#: workers start, as those libraries read nothing later.
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class _Config(uvicorn.Config):
    """A uvicorn config whose app is :func:`create_app` on ``settings``."""

    def __init__(self, settings: ServiceSettings, **kwargs: object) -> None:
        if not callable(getattr(uvicorn.Config, "load_app", None)):
            raise RuntimeError(f"uvicorn {uvicorn.__version__} has no Config.load_app, which "
                               "hands the settings to the workers: upgrade uvicorn")
        super().__init__("vowelseg.service.api:create_app", factory=True, **kwargs)
        self.vowelseg_settings = settings

    def load_app(self) -> Callable[[], FastAPI]:
        return functools.partial(create_app, self.vowelseg_settings)


def serve(settings: ServiceSettings, host: str = "127.0.0.1", port: int = 8000,
          workers: int = 1) -> None:
    """Run the service until interrupted.

    Raises
    ------
    ModelError
        If ``settings.model`` names no model (checked before anything starts).
    """
    resolve_model(settings.model)
    for name in BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    one_blas_thread()  # this process's BLAS is loaded already
    config = _Config(settings, host=host, port=port, workers=workers, access_log=False,
                     timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    if workers == 1:
        server.run()
        if not server.started:  # startup failed (uvicorn.run exits 3 then too)
            raise SystemExit(3)
        return
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[config.bind_socket()]).run()
