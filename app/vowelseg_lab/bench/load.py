"""Load benchmark: concurrent clients against a real multi-worker server.

``vowelseg-lab bench-load`` starts ``vowelseg serve --workers N`` on loopback, has
C client threads send 5 s timit-dev requests back to back for a fixed time,
and prints per run: requests, status counts, p50/p99 latency, throughput and
the server's peak memory (all its processes). A third run kills one worker
with SIGKILL part-way through and reports what the requests sent after the
kill got back.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from vowelseg_lab.bench.server import (
    multipart,
    process_tree_rss_mb,
    request_audio,
    start_server,
    stop_server,
    worker_pids,
)
from vowelseg_lab.training.corpus import TIMIT_RATE, Utterance


@dataclass
class LoadRun:
    """What one load run saw."""

    clients: int
    seconds: float
    sent: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    killed_at: float | None = None

    def summary(self, audio_s: float) -> dict:
        """Counts, latency percentiles and throughput."""
        ok = [lat for s, lat in zip(self.status, self.latency_s, strict=True) if s == 200]
        counts = Counter(self.status)
        out = {"clients": self.clients, "seconds": self.seconds, "requests": len(self.status),
               "ok": counts.get(200, 0), "busy_503": counts.get(503, 0),
               "other": sum(v for k, v in counts.items() if k not in (200, 503)),
               "p50_ms": 1000 * float(np.percentile(ok, 50)) if ok else float("nan"),
               "p99_ms": 1000 * float(np.percentile(ok, 99)) if ok else float("nan"),
               "req_per_s": counts.get(200, 0) / self.seconds,
               "audio_s_per_s": counts.get(200, 0) * audio_s / self.seconds,
               "peak_rss_mb": self.peak_rss_mb, "codes": dict(counts)}
        if self.killed_at is not None:
            after = [s for t, s in zip(self.sent, self.status, strict=True)
                     if t > self.killed_at]
            out["after_kill"] = dict(Counter(after))
        return out


def run_load(port: int, server_pid: int, body: bytes, ctype: str, clients: int,
             seconds: float, kill_after_s: float | None = None) -> LoadRun:
    """``clients`` threads posting ``body`` back to back for ``seconds``."""
    run = LoadRun(clients, seconds)
    lock = threading.Lock()
    t_end = time.time() + seconds

    def client() -> None:
        while time.time() < t_end:
            sent = time.time()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/segment", data=body,
                                         headers={"Content-Type": ctype})
            try:
                with urllib.request.urlopen(req, timeout=120) as reply:
                    reply.read()
                    code = reply.status
            except urllib.error.HTTPError as err:
                code = err.code
            except OSError:
                code = -1  # connection refused/reset
            with lock:
                run.sent.append(sent)
                run.status.append(code)
                run.latency_s.append(time.time() - sent)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.time()
    for t in threads:
        t.start()
    killed = False
    while any(t.is_alive() for t in threads):
        run.peak_rss_mb = max(run.peak_rss_mb, process_tree_rss_mb(server_pid))
        if kill_after_s is not None and not killed and time.time() - start > kill_after_s:
            victims = worker_pids(server_pid)
            if victims:
                os.kill(victims[0], signal.SIGKILL)
                run.killed_at = time.time()
                killed = True
        time.sleep(0.25)
    return run


def run(utterances: Sequence[Utterance], model: Path, workers: int = 2,
        client_counts: Sequence[int] = (8, 32), seconds: float = 60.0,
        port: int = 8766) -> list[dict]:
    """The load runs, then one with a worker killed a third of the way in."""
    samples, transcript = request_audio(utterances, 5.0)
    buffer = io.BytesIO()
    sf.write(buffer, samples, TIMIT_RATE, format="WAV", subtype="PCM_16")
    body, ctype = multipart({"transcript": transcript}, {"audio": ("load.wav", buffer.getvalue())})
    audio_s = len(samples) / TIMIT_RATE
    server = start_server(port, workers, model)
    results = []
    try:
        for clients in client_counts:
            results.append(run_load(port, server.pid, body, ctype, clients, seconds)
                           .summary(audio_s))
        kill = run_load(port, server.pid, body, ctype, client_counts[0], seconds,
                        kill_after_s=seconds / 3)
        summary = kill.summary(audio_s)
        summary["workers_after"] = len(worker_pids(server.pid))
        results.append(summary)
    finally:
        stop_server(server)
    return results


def format_runs(results: Sequence[dict]) -> str:
    """One row per run."""
    head = (f"{'clients':>8} {'seconds':>8} {'requests':>9} {'200':>6} {'503':>6} {'other':>6} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'audio s/s':>10} {'peak MB':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['clients']:>8} {r['seconds']:>8.0f} {r['requests']:>9} {r['ok']:>6} "
            f"{r['busy_503']:>6} {r['other']:>6} {r['p50_ms']:>8.0f} {r['p99_ms']:>8.0f} "
            f"{r['req_per_s']:>7.1f} {r['audio_s_per_s']:>10.0f} {r['peak_rss_mb']:>8.0f}"
            + ("   (one worker SIGKILLed)" if "after_kill" in r else ""))
    return "\n".join(lines)
