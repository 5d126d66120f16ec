"""Long-recording benchmark: time, memory and drift from 10 s to an hour.

Long recordings are built by concatenating the utterances of a TIMIT-format
folder with pauses of 0.1-2 s between them, so every utterance keeps its
hand labels, shifted by its known offset. Each length is aligned in a fresh
process (its peak RSS is the figure; recordings under 5 minutes are timed as the
median of 5 runs) through the same :func:`vowelseg.pipeline.segment`
the API uses; the reply is cut back into the utterances' spans and scored
with the accuracy measure of :mod:`vowelseg_lab.bench.metrics`, next to the same utterances
aligned one by one.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from vowelseg.cores import usable_cores
from vowelseg.measures import PARALLEL_MIN_VOWELS
from vowelseg.result import Segmentation

from vowelseg_lab.bench.metrics import Tally
from vowelseg_lab.bench.server import (
    multipart,
    request_audio,
    server_peak_rss_mb,
    start_server,
    stop_server,
)
from vowelseg_lab.training.corpus import TIMIT_RATE, Utterance, read_corpus

LENGTHS_S = (10.0, 60.0, 600.0, 3600.0)
PAUSE_RANGE_S = (0.1, 2.0)
FIGURES = ("frame_acc3", "vowel_f1", "vb_f1@10", "vb_f1@20", "vb_f1@50", "pb@10", "pb@20",
           "pb@25", "pb@50", "pb_matched", "wb@20", "wb@50", "word_mae_ms")


@dataclass(frozen=True)
class Placement:
    """Where an utterance sits in a long recording."""

    utt_id: str
    offset_s: float


def build_recording(utterances: Sequence[Utterance], target_s: float, seed: int = 0,
                    pause_range_s: tuple[float, float] = PAUSE_RANGE_S,
                    ) -> tuple[np.ndarray, str, list[Placement]]:
    """Concatenate utterances (in a seeded order, cycling) until ``target_s`` is reached.

    Returns
    -------
    samples : np.ndarray
        16-bit mono samples at the corpus rate.
    transcript : str
        The utterances' sentences, in order.
    placements : list of Placement
        Each utterance's offset in the recording.
    """
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    texts: list[str] = []
    placements: list[Placement] = []
    total = 0
    target = int(round(target_s * TIMIT_RATE))
    order: list[int] = []
    while total < target:
        if not order:
            order = list(rng.permutation(len(utterances)))
        utt = utterances[order.pop()]
        samples, rate = sf.read(utt.wav, dtype="int16")
        if rate != TIMIT_RATE:
            raise ValueError(f"{utt.wav}: {rate} Hz, expected {TIMIT_RATE}")
        placements.append(Placement(utt.utt_id, total / TIMIT_RATE))
        texts.append(utt.text)
        parts.append(samples)
        total += len(samples)
        gap = np.zeros(int(rng.uniform(*pause_range_s) * TIMIT_RATE), dtype=np.int16)
        parts.append(gap)
        total += len(gap)
    return np.concatenate(parts), " ".join(texts), placements


def cut(seg: Segmentation, start_s: float, end_s: float) -> Segmentation:
    """The part of ``seg`` whose phones and words have their midpoint in
    ``[start_s, end_s)``, clipped to it and shifted to start at 0."""
    def inside(a: float, b: float) -> bool:
        return start_s <= (a + b) / 2 < end_s

    def clip(t: float) -> float:
        return round(min(max(t, start_s), end_s) - start_s, 6)

    kept = [i for i, w in enumerate(seg.words) if inside(w.start, w.end)]
    words = [seg.words[i] for i in kept]
    first = kept[0] if kept else 0
    phones = [replace(p, start=clip(p.start), end=clip(p.end), word=p.word - first)
              for p in seg.phones if inside(p.start, p.end)]
    return replace(
        seg,
        duration=end_s - start_s,
        words=[replace(w, start=clip(w.start), end=clip(w.end)) for w in words],
        phones=phones,
        pauses=[(clip(a), clip(b)) for a, b in seg.pauses if inside(a, b)],
        untranscribed=[(clip(a), clip(b)) for a, b in seg.untranscribed if inside(a, b)],
    )


def score_placements(seg: Segmentation | None, placements: Sequence[Placement],
                     corpus: dict[str, Utterance]) -> Tally:
    """Score a long recording's reply utterance by utterance (pooled)."""
    tally = Tally()
    for p in placements:
        utt = corpus[p.utt_id]
        tally.add(utt, None if seg is None else cut(seg, p.offset_s, p.offset_s + utt.duration))
    return tally


def pooled(tallies: dict[str, Tally], placements: Sequence[Placement]) -> Tally:
    """Per-utterance tallies pooled over ``placements`` (repeats counted again)."""
    total = Tally()
    for p in placements:
        total.merge(tallies[p.utt_id])
    return total


def peak_rss_mb() -> float:
    """This process's peak resident set size, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class ChildrenRss:
    """The largest total of this process's children's peak resident set sizes
    (VmHWM) seen while running, MB, sampled every 0.2 s from /proc. A spawned
    child's own peak is not in ``RUSAGE_CHILDREN``, which counts the parent's
    pages it shared before exec."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildrenRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.2):
            total_kb = 0
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    # the parent's pid is the second field after the command's ")"
                    if stat.read_text().rsplit(")", 1)[1].split()[1] != me:
                        continue
                    status = (stat.parent / "status").read_text()
                except (OSError, IndexError):  # ended meanwhile
                    continue
                total_kb += next((int(line.split()[1]) for line in status.splitlines()
                                  if line.startswith("VmHWM:")), 0)
            self.peak_mb = max(self.peak_mb, total_kb / 1024.0)


# ---------------------------------------------------------------- one length, own process

def align_one(job_path: Path) -> None:
    """Child process: align the job's recording, score it, write the result JSON."""
    from vowelseg.options import Options
    from vowelseg.pipeline import load_resources, segment

    job = json.loads(Path(job_path).read_text())
    # as the CLI and the service measure: a process per core
    options = Options(measures=job.get("measures", False), measure_processes=usable_cores())
    corpus = {u.utt_id: u for u in read_corpus(Path(job["corpus"]))}
    resources = load_resources(Path(job["model"]))
    warm = corpus[job["placements"][0][0]]
    segment(warm.wav, warm.text, resources)  # JIT and caches, as in a running service
    rss_before = peak_rss_mb()
    transcript = Path(job["transcript"]).read_text()
    walls = []
    with ChildrenRss() as children:
        for _ in range(job.get("repeats", 1)):  # short recordings: the median of a few runs
            t0 = time.perf_counter()
            seg = segment(Path(job["wav"]), transcript, resources, options)
            walls.append(time.perf_counter() - t0)
    wall = float(np.median(walls))
    rss = peak_rss_mb()
    placements = [Placement(u, o) for u, o in job["placements"]]
    result = {"wall_s": wall, "peak_rss_mb": rss, "rss_before_mb": rss_before,
              "helper_peak_rss_mb": children.peak_mb,
              "all": score_placements(seg, placements, corpus).metrics()}
    if options.measures:
        result.update(vowels=len(seg.measures),
                      vowels_with_formants=sum(m.midpoint_hz[0] is not None
                                               for m in seg.measures))
    minute = 60.0
    duration = seg.duration
    head = [p for p in placements if p.offset_s + corpus[p.utt_id].duration <= minute]
    tail = [p for p in placements if p.offset_s >= duration - minute]
    result["first_minute"] = score_placements(seg, head, corpus).metrics()
    result["last_minute"] = score_placements(seg, tail, corpus).metrics()
    result["first_minute_ids"] = [p.utt_id for p in head]
    result["last_minute_ids"] = [p.utt_id for p in tail]
    Path(job["out"]).write_text(json.dumps(result))


def _child(job: dict, job_path: Path) -> dict:
    """Run :func:`align_one` on ``job`` in a fresh process; its result."""
    job_path.write_text(json.dumps(job))
    subprocess.run([sys.executable, "-m", "vowelseg_lab.bench.long", str(job_path)],
                   check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return json.loads(Path(job["out"]).read_text())


def run_length(corpus_dir: Path, model: Path, utterances: Sequence[Utterance], target_s: float,
               workdir: Path, seed: int = 0, measures: bool = False) -> dict:
    """Build one long recording and align it in a fresh process (and, with
    ``measures``, align and measure it in another)."""
    samples, transcript, placements = build_recording(utterances, target_s, seed)
    stem = workdir / f"long-{int(target_s)}s"
    sf.write(stem.with_suffix(".wav"), samples, TIMIT_RATE, subtype="PCM_16")
    stem.with_suffix(".txt").write_text(transcript)
    job = {"corpus": str(corpus_dir), "model": str(model), "wav": str(stem.with_suffix(".wav")),
           "transcript": str(stem.with_suffix(".txt")), "out": str(stem.with_suffix(".out")),
           "placements": [(p.utt_id, p.offset_s) for p in placements],
           "repeats": 5 if target_s < 300 else 1}
    result = _child(job, stem.with_suffix(".job"))
    if measures:
        measured = _child({**job, "measures": True, "out": str(stem.with_suffix(".m.out"))},
                          stem.with_suffix(".m.job"))
        result.update(measured_wall_s=measured["wall_s"],
                      measured_peak_rss_mb=measured["peak_rss_mb"],
                      measured_helper_peak_rss_mb=measured["helper_peak_rss_mb"],
                      vowels=measured["vowels"],
                      vowels_with_formants=measured["vowels_with_formants"])
    result.update(audio_s=len(samples) / TIMIT_RATE, utterances=len(placements),
                  placements=[(p.utt_id, p.offset_s) for p in placements])
    return result


def run(corpus_dir: Path, model: Path, lengths_s: Sequence[float] = LENGTHS_S,
        per_utterance: dict[str, Tally] | None = None,
        progress: Callable[[str], None] | None = None, measures: bool = False) -> list[dict]:
    """Every length in turn; each result carries the per-utterance figures
    of the same utterances under ``"per_utterance"`` when given, and the time
    to align and measure under ``"measured_wall_s"`` with ``measures``."""
    utterances = read_corpus(Path(corpus_dir))
    results = []
    with tempfile.TemporaryDirectory(prefix="vowelseg-long-") as tmp:
        for length in lengths_s:
            result = run_length(Path(corpus_dir), Path(model), utterances, length, Path(tmp),
                                measures=measures)
            if per_utterance is not None:
                placements = [Placement(u, o) for u, o in result["placements"]]
                result["per_utterance"] = pooled(per_utterance, placements).metrics()
                for part in ("first_minute", "last_minute"):
                    ids = result[f"{part}_ids"]
                    result[f"{part}_per_utterance"] = pooled(
                        per_utterance, [Placement(u, 0.0) for u in ids]).metrics()
            results.append(result)
            if progress:
                progress(f"{result['audio_s']:.0f} s: {result['wall_s']:.1f} s wall, "
                         f"{result['peak_rss_mb']:.0f} MB peak"
                         + (f"; with measures {result['measured_wall_s']:.1f} s"
                            if measures else ""))
    return results


def format_lengths(results: Sequence[dict]) -> str:
    """One row per length: speed, memory, accuracy and its change from per-utterance."""
    cols = ("frame_acc3", "vowel_f1", "vb_f1@20", "pb@20", "wb@20", "word_mae_ms")
    head = (f"{'audio':>8} {'utts':>5} {'wall s':>8} {'RTF':>8} {'peak MB':>8} "
            + "".join(f"{c:>12}" for c in cols) + f"{'max |diff|':>12}")
    lines = [head, "-" * len(head)]
    for r in results:
        m = r["all"]
        cells = "".join(f"{m[c]:>12.1f}" if c.endswith("_ms") else f"{m[c]:>12.3f}" for c in cols)
        diff = max_point_diff(m, r["per_utterance"]) if "per_utterance" in r else float("nan")
        lines.append(f"{_dur(r['audio_s']):>8} {r['utterances']:>5} {r['wall_s']:>8.2f} "
                     f"{r['wall_s'] / r['audio_s']:>8.4f} {r['peak_rss_mb']:>8.0f}{cells}"
                     f"{diff:>12.2f}")
    if any("measured_wall_s" in r for r in results):
        lines += ["", "aligned and measured (formants, f0, intensity of every vowel; a "
                  f"recording of {PARALLEL_MIN_VOWELS} vowels or more measured by a process "
                  f"per core, here {usable_cores()}; + helper MB: their largest total)",
                  f"{'audio':>8} {'vowels':>7} {'measured':>9} {'wall s':>8} {'x align':>8} "
                  f"{'peak MB':>8} {'+ helper MB':>11}"]
        for r in results:
            lines.append(f"{_dur(r['audio_s']):>8} {r['vowels']:>7} "
                         f"{r['vowels_with_formants']:>9} {r['measured_wall_s']:>8.2f} "
                         f"{r['measured_wall_s'] / r['wall_s']:>8.2f} "
                         f"{r['measured_peak_rss_mb']:>8.0f} "
                         f"{r.get('measured_helper_peak_rss_mb', 0.0):>11.0f}")
    return "\n".join(lines)


def max_point_diff(a: dict, b: dict) -> float:
    """Largest difference over :data:`FIGURES`, in points (shares x100; ms as is)."""
    return max(abs(a[k] - b[k]) * (1 if k.endswith("_ms") else 100) for k in FIGURES)


def _dur(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def plot(results: Sequence[dict], path: Path) -> None:
    """PNG of wall time and peak memory against audio length (log-log), with the
    linear extrapolation from the shortest length for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.array([r["audio_s"] for r in results]) / 60.0
    wall = np.array([r["wall_s"] for r in results])
    rss = np.array([r["peak_rss_mb"] for r in results])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    left.loglog(x, wall, "o-", label="vowelseg")
    ref = wall[1] / x[1] if len(x) > 1 else wall[0] / x[0]
    left.loglog(x, ref * x, "--", color="grey", label="linear (from 1 min)")
    left.set(xlabel="audio length (min)", ylabel="wall time (s)", title="Alignment time")
    left.legend()
    right.semilogx(x, rss, "o-", color="tab:red")
    right.set(xlabel="audio length (min)", ylabel="peak RSS (MB)", title="Peak memory",
              ylim=(0, max(rss) * 1.2))
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------- HTTP latency and cold start

def http_latency(utterances: Sequence[Utterance], model: Path, port: int = 8765,
                 target_s: float = 5.0, requests: int = 40, long_s: float | None = None,
                 seed: int = 0) -> dict:
    """Start ``vowelseg serve`` and measure cold start (process start to the first
    ``POST /segment`` reply) and warm latency of ``target_s`` requests over loopback;
    with ``long_s``, then send the long-audio benchmark's recording of that length
    (same seed) in one request and time it, with the server's peak RSS."""
    import io
    import urllib.request


    samples, transcript = request_audio(utterances, target_s)
    buffer = io.BytesIO()
    sf.write(buffer, samples, TIMIT_RATE, format="WAV", subtype="PCM_16")
    body, ctype = multipart({"transcript": transcript},
                            {"audio": ("bench.wav", buffer.getvalue())})
    url = f"http://127.0.0.1:{port}/segment"

    def post() -> int:
        req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=60) as reply:
            reply.read()
            return reply.status

    t0 = time.perf_counter()
    server = start_server(port, 1, model)  # returns once /health answers
    try:
        post()
        cold = time.perf_counter() - t0
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            post()
            times.append(time.perf_counter() - t)
        long = {}
        if long_s:
            samples_long, transcript_long, _ = build_recording(utterances, long_s, seed)
            buffer = io.BytesIO()
            sf.write(buffer, samples_long, TIMIT_RATE, format="WAV", subtype="PCM_16")
            del samples_long
            body, ctype = multipart({"transcript": transcript_long},
                                    {"audio": ("long.wav", buffer.getvalue())})
            del buffer
            t = time.perf_counter()
            req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
            with urllib.request.urlopen(req, timeout=600) as reply:
                reply_json = json.loads(reply.read())
            long = {"long_audio_s": reply_json["duration"],
                    "long_wall_s": time.perf_counter() - t,
                    "long_words": len(reply_json["words"]),
                    "long_body_mb": len(body) / 1e6,
                    "server_peak_rss_mb": server_peak_rss_mb(server.pid)}
    finally:
        stop_server(server)
    ms = np.array(times) * 1000
    return {"audio_s": len(samples) / TIMIT_RATE, "cold_start_s": cold,
            "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "requests": requests, **long}


if __name__ == "__main__":
    align_one(Path(sys.argv[1]))
