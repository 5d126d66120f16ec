"""Batch alignment of a corpus folder (the Montreal Forced Aligner's layout).

Every audio file with a transcript beside it (``name.wav`` + ``name.txt`` or
``name.lab``; speaker sub-folders allowed) becomes ``OUT/<same path>/name.json``,
``name.TextGrid`` and ``name.csv`` (its vowels' measurements; ``OUT/vowels.csv``
joins them all, with the speaker's folder as a column). Finished files are
skipped, so an interrupted run resumes where it stopped; given other options
or another model than those recorded in ``OUT/.batch-options`` (the model by its
file name) it is refused rather than mixing outputs. Outputs are written to a
temporary name and renamed, so a file is either complete or absent. Work runs
on local processes or on a Dask distributed cluster, through the same
:func:`align_file`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from vowelseg.errors import VowelsegError
from vowelseg.options import Options
from vowelseg.text.files import AUDIO_SUFFIXES, transcript_beside

OUTPUT_SUFFIXES = (".json", ".TextGrid")
#: All files' vowel tables joined, in the output folder.
COMBINED_CSV = "vowels.csv"
#: The options and model a batch's outputs were made with, in the output folder
#: (not ``.json``: the outputs are the folder's ``.json`` files).
OPTIONS_FILE = ".batch-options"
#: A batch's options unless told otherwise: every vowel measured (the per-file
#: .csv and the joined vowels.csv are most of what a corpus is aligned for), in
#: the process aligning its file (the batch's processes are the parallelism).
BATCH_OPTIONS = Options(measures=True)


@dataclass(frozen=True)
class Job:
    """One file of the corpus: its audio, transcript and output stem."""

    audio: Path
    transcript: Path
    out_stem: Path
    speaker: str = ""
    options: Options = BATCH_OPTIONS

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The outputs it writes."""
        return OUTPUT_SUFFIXES + ((".csv",) if self.options.measures else ())

    def done(self) -> bool:
        """All outputs exist (written atomically, so they are complete)."""
        return all(self.out_stem.with_suffix(s).exists() for s in self.suffixes)


@dataclass(frozen=True)
class Outcome:
    """What became of a job: ``error`` is None on success."""

    audio: str
    error: str | None
    audio_s: float = 0.0
    warnings: tuple[str, ...] = ()


def find_jobs(corpus: Path, out: Path, options: Options = BATCH_OPTIONS,
              ) -> tuple[list[Job], list[Outcome]]:
    """Audio files with a transcript beside them, and those without one."""
    jobs, missing = [], []
    for audio in sorted(p for p in Path(corpus).rglob("*")
                        if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
        transcript = transcript_beside(audio)
        if transcript is None:
            missing.append(Outcome(str(audio), "no .lab or .txt transcript beside it"))
            continue
        rel = audio.relative_to(corpus)
        jobs.append(Job(audio, transcript, Path(out) / rel.parent / rel.stem,
                        rel.parent.as_posix() if rel.parent != Path(".") else "", options))
    return jobs, missing


def made_with(options: Options, model: str | None) -> str:
    """What :data:`OPTIONS_FILE` records: the options and the model's file name
    (the processes measuring a file change nothing in its outputs)."""
    from vowelseg.hmm.model import DEFAULT_MODEL

    return json.dumps({"model": Path(model or DEFAULT_MODEL).name,
                       "options": options.model_dump(mode="json",
                                                     exclude={"measure_processes"})},
                      indent=1) + "\n"


def check_resume(jobs: list[Job], out: Path, options: Options, model: str | None) -> None:
    """Record the batch's options and model in ``out``; refuse to add to
    finished outputs made with others, which would mix the two in one corpus.

    Raises
    ------
    VowelsegError
        If some job is done and ``out`` records other options or another model.
    """
    path, current = Path(out) / OPTIONS_FILE, made_with(options, model)
    recorded = path.read_text() if path.exists() else current
    if recorded != current and any(job.done() for job in jobs):
        before, now = json.loads(recorded), json.loads(current)
        changed = [f"{name} {before['options'].get(name)!r} -> {value!r}"
                   for name, value in now["options"].items()
                   if before["options"].get(name) != value]
        if before["model"] != now["model"]:
            changed.insert(0, f"model {before['model']} -> {now['model']}")
        raise VowelsegError(f"{out} holds outputs made with other settings "
                            f"({'; '.join(changed)}): resume with the same ones, write to "
                            f"another folder, or delete {path} to mix them")
    if recorded != current or not path.exists():
        write_atomic(path, current)


def write_atomic(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(data)
    os.replace(tmp, path)


def align_file(job: Job, model: str | None = None) -> Outcome:
    """Align one file and write its outputs; a failure is returned, not raised."""
    from vowelseg.hmm.model import DEFAULT_MODEL
    from vowelseg.pipeline import load_resources, segment
    from vowelseg.render import to_csv, to_json, to_textgrid
    from vowelseg.reply import build
    from vowelseg.text.files import read_transcript

    try:
        transcript = read_transcript(job.transcript)
        seg = segment(job.audio, transcript, load_resources(Path(model or DEFAULT_MODEL)),
                      job.options)
    except VowelsegError as exc:
        return Outcome(str(job.audio), exc.message)
    except Exception as exc:  # reported in the summary, the batch goes on
        return Outcome(str(job.audio), f"{type(exc).__name__}: {exc}")
    reply = build(seg)  # once, for every file written
    write_atomic(job.out_stem.with_suffix(".TextGrid"), to_textgrid(reply))
    if job.options.measures:
        write_atomic(job.out_stem.with_suffix(".csv"), to_csv(reply, job.speaker))
    write_atomic(job.out_stem.with_suffix(".json"), json.dumps(to_json(reply), indent=1) + "\n")
    return Outcome(str(job.audio), None, seg.duration, tuple(w.code for w in seg.warnings))


def _worker_setup() -> None:
    """Pool workers use one BLAS thread each (the processes are the parallelism)
    and exit if the batch process that started them dies (killed, not stopped)."""
    import threading

    from vowelseg.hmm.gmm import one_blas_thread

    one_blas_thread()
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def run_local(jobs: list[Job], workers: int, model: str | None) -> Iterator[Outcome]:
    """Jobs on a local process pool, yielded as they finish. Every job aligns
    with one BLAS thread, in this process as in the pool's workers (and a Dask
    cluster's, whose workers run one by default), so a file's outputs do not
    depend on where it ran."""
    if workers <= 1:
        from vowelseg.hmm.gmm import one_blas_thread

        for job in jobs:
            with one_blas_thread():
                outcome = align_file(job, model)
            yield outcome
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_setup) as pool:
        futures = [pool.submit(align_file, job, model) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def run_dask(jobs: list[Job], address: str | object, model: str | None) -> Iterator[Outcome]:
    """Jobs on a Dask distributed cluster (an address or a ``Client``), as they finish."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = address if isinstance(address, Client) else Client(address)
    try:
        futures = client.map(align_file, jobs, model=model, pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        if client is not address:
            client.close()


def join_tables(tables: list[Path], path: Path) -> None:
    """The vowel tables that exist, in order, as one CSV (one header)."""
    parts = [t.read_text() for t in tables if t.exists()]
    if not parts:
        return
    header = parts[0].split("\n", 1)[0] + "\n"
    write_atomic(path, header + "".join(p.split("\n", 1)[1] for p in parts))


def progress_line(done: int, total: int, failed: int, start: float, width: int = 30) -> str:
    """``[#####.....] 50/100 files, 2 failed, 40.0 files/min``."""
    filled = int(width * done / max(1, total))
    rate = 60.0 * done / max(1e-9, time.time() - start)
    return (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files, "
            f"{failed} failed, {rate:.0f} files/min")


def run(corpus: Path, out: Path, workers: int = 1, dask: str | object | None = None,
        model: str | None = None, say: Callable[[str], None] | None = None,
        progress: Callable[[int, int, int, float], None] | None = None,
        options: Options = BATCH_OPTIONS) -> dict:
    """Align a corpus folder; returns counts, failures and throughput.

    ``say`` receives messages; ``progress(done, total, failed, start_time)`` is
    called after every file, ``failed`` counting what the summary counts: files
    that failed and audio files without a transcript. Every file is aligned
    with ``options``.

    Raises
    ------
    VowelsegError
        If ``out`` holds finished outputs made with other options or another
        model (:func:`check_resume`).
    """
    jobs, failures = find_jobs(Path(corpus), Path(out), options)
    check_resume(jobs, Path(out), options, model)
    for stale in Path(out).rglob(".*.tmp"):  # left by a run killed mid-write
        stale.unlink()
    todo = [j for j in jobs if not j.done()]
    if say:
        say(f"{len(jobs)} files with transcripts, {len(jobs) - len(todo)} already done, "
            f"{len(todo)} to align"
            + (f", {len(failures)} without a transcript" if failures else ""))
    start = time.time()
    outcomes: Iterable[Outcome] = (run_dask(todo, dask, model) if dask is not None
                                   else run_local(todo, workers, model))
    done = errors = 0
    warned: list[Outcome] = []
    audio_s = 0.0
    for outcome in outcomes:
        done += 1
        audio_s += outcome.audio_s
        if outcome.error:
            errors += 1
            failures.append(outcome)
        elif outcome.warnings:
            warned.append(outcome)
        if progress:
            progress(done, len(todo), len(failures), start)
    wall = time.time() - start
    if options.measures:
        join_tables([j.out_stem.with_suffix(".csv") for j in jobs],
                    Path(out) / COMBINED_CSV)
    if failures:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_atomic(Path(out) / "failures.tsv",
                     "".join(f"{f.audio}\t{f.error}\n" for f in failures))
    return {"files": len(jobs), "skipped": len(jobs) - len(todo), "aligned": done - errors,
            "with_warnings": [(w.audio, ", ".join(w.warnings)) for w in warned],
            "without_transcript": len(failures) - errors,
            "failed": [(f.audio, f.error) for f in failures], "wall_s": wall,
            "files_per_min": 60.0 * done / wall if wall > 0 else 0.0, "audio_s": audio_s}


class _Progress:
    """A progress bar on standard error: redrawn in place on a terminal (at most 5
    times a second), a line per tenth of the work otherwise (logs, CI)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.tenth = -1

    def __call__(self, done: int, total: int, failed: int, start: float) -> None:
        line = progress_line(done, total, failed, start)
        if self.tty:
            if time.time() - self.last > 0.2 or done == total:
                end = "\n" if done == total else ""
                print("\r" + line, end=end, file=sys.stderr, flush=True)
                self.last = time.time()
        elif 10 * done // max(1, total) > self.tenth:
            self.tenth = 10 * done // max(1, total)
            print(line, file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    """``vowelseg batch`` (argparse namespace with corpus, out, workers, dask, model
    and the flags of :func:`vowelseg.option_flags.add_option_flags`)."""
    from vowelseg.option_flags import options_from_args

    summary = run(Path(args.corpus), Path(args.out), args.workers, args.dask,
                  str(args.model), say=lambda m: print(m, file=sys.stderr),
                  progress=_Progress(), options=options_from_args(args))
    where = f"Dask cluster {args.dask}" if args.dask else f"{args.workers} local workers"
    print(f"aligned {summary['aligned']} files ({summary['audio_s']:.0f} s of audio) in "
          f"{summary['wall_s']:.1f} s on {where}: {summary['files_per_min']:.0f} files/min; "
          f"{summary['skipped']} already done, {len(summary['failed'])} failed"
          + (f" ({summary['without_transcript']} without a transcript)"
             if summary["without_transcript"] else "") + ", "
          f"{len(summary['with_warnings'])} with warnings")
    for audio, codes in summary["with_warnings"]:
        print(f"WARNING {audio}: {codes} (the messages are in its .json)")
    for audio, why in summary["failed"]:
        print(f"FAILED {audio}: {why}")
    if summary["failed"]:
        print(f"(also in {Path(args.out) / 'failures.tsv'})")
    return 1 if summary["failed"] else 0
