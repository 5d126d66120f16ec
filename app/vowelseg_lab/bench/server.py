"""Benchmarks and tests that talk to a real ``vowelseg serve``: start and stop it,
find its workers and their memory, and build the requests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from vowelseg_lab.training.corpus import TIMIT_RATE, Utterance


def start_server(port: int, workers: int, model: Path | str, env: dict[str, str] | None = None,
                 timeout_s: float = 60.0) -> subprocess.Popen:
    """``vowelseg serve`` in its own process group, returned once /health answers."""
    return launch([sys.executable, "-m", "vowelseg.cli", "serve", "--port", str(port),
                   "--workers", str(workers), "--model", str(model)], port, workers, env,
                  timeout_s)


def launch(command: Sequence[str], port: int, workers: int = 1,
           env: dict[str, str] | None = None, timeout_s: float = 60.0) -> subprocess.Popen:
    """A server ``command`` (``vowelseg serve``, or one that runs it, in an image)
    in its own process group, returned once /health answers on ``port`` and, for
    ``workers`` > 1, that many Python workers run under it."""
    server = subprocess.Popen(list(command), env={**os.environ, **(env or {})},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.time() + timeout_s
    while time.time() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                if workers == 1 or len(worker_pids(server.pid)) >= workers:
                    return server
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"the server did not start: {' '.join(command)}")


def free_port() -> int:
    """A TCP port on the loopback nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_server(server: subprocess.Popen) -> None:
    """Terminate the server's process group."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:  # the whole group has gone already
        server.wait()
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


def worker_pids(server_pid: int) -> list[int]:
    """The server's live worker processes (its Python children, zombies left out)."""
    out = subprocess.run(["ps", "-o", "pid=,stat=,comm=", "--ppid", str(server_pid)],
                         capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return [int(r[0]) for r in rows if "python" in r[2] and not r[1].startswith("Z")]


def process_tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, MB."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True,
                         text=True).stdout
    rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
    children: dict[int, list[int]] = {}
    rss = {}
    for pid, ppid, kb in rows:
        children.setdefault(ppid, []).append(pid)
        rss[pid] = kb
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / 1024.0


def server_peak_rss_mb(pid: int) -> float:
    """Peak resident set size of a running process (Linux ``VmHWM``), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type."""
    boundary = "vowelseg-bench-boundary"
    out = bytearray()
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    for name, (filename, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def request_audio(utterances: Sequence[Utterance], target_s: float,
                  gap_s: float = 0.2) -> tuple[np.ndarray, str]:
    """One utterance, or two with a ``gap_s`` pause, lasting as close to
    ``target_s`` as the corpus allows; 16-bit samples and the transcript."""
    gap = int(gap_s * TIMIT_RATE)
    lengths = [int(round(u.duration * TIMIT_RATE)) for u in utterances]
    target = target_s * TIMIT_RATE
    options = [(abs(n - target), (i,)) for i, n in enumerate(lengths)]
    options += [(abs(a + gap + b - target), (i, j)) for i, a in enumerate(lengths)
                for j, b in enumerate(lengths) if i < j]
    chosen = min(options)[1]
    parts: list[np.ndarray] = []
    for k, i in enumerate(chosen):
        if k:
            parts.append(np.zeros(gap, dtype=np.int16))
        parts.append(sf.read(utterances[i].wav, dtype="int16")[0])
    return np.concatenate(parts), " ".join(utterances[i].text for i in chosen)
