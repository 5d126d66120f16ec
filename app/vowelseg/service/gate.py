"""Admission control: a bounded number of alignments at once, a bounded queue,
a deadline; past those, :class:`~vowelseg.errors.BusyError` (HTTP 503)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool

from vowelseg.errors import BusyError
from vowelseg.service.settings import ServiceSettings

T = TypeVar("T")


class Gate:
    """At most ``settings.max_concurrent`` jobs at once, ``settings.max_queue`` waiting.

    A job that times out keeps its slot until its thread finishes, so the
    number of running alignments never exceeds the limit.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.slots = asyncio.Semaphore(settings.max_concurrent)
        self.waiting = 0
        self.running = 0

    async def run(self, job: Callable[[], T]) -> T:
        """Run ``job`` in a worker thread when a slot is free."""
        settings = self.settings
        if self.waiting >= settings.max_queue:
            raise BusyError(f"the server is busy: {self.running} alignments running and "
                            f"{self.waiting} waiting (VOWELSEG_MAX_QUEUE={settings.max_queue}); "
                            "retry shortly")
        start = time.monotonic()
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout=settings.request_timeout_s)
        except TimeoutError:
            raise BusyError(f"no alignment slot came free within {settings.request_timeout_s:g} s "
                            "(VOWELSEG_REQUEST_TIMEOUT_S); retry later") from None
        finally:
            self.waiting -= 1
        self.running += 1
        task = asyncio.ensure_future(run_in_threadpool(job))
        task.add_done_callback(self._finished)
        left = max(0.0, settings.request_timeout_s - (time.monotonic() - start))
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=left)
        except TimeoutError:
            raise BusyError(f"the alignment took longer than {settings.request_timeout_s:g} s "
                            "(VOWELSEG_REQUEST_TIMEOUT_S)") from None

    def _finished(self, task: asyncio.Future) -> None:
        self.running -= 1
        self.slots.release()
        if not task.cancelled():
            task.exception()  # retrieved here; the awaiting request reports it
