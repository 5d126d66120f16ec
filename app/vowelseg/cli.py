"""The ``vowelseg`` command: ``segment``, ``measure``, ``batch`` and ``serve``.

The model and benchmark commands are ``vowelseg-lab``'s (:mod:`vowelseg_lab.cli`),
which builds on :func:`run`, ``_command`` and ``_model_option`` here."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from vowelseg import __version__
from vowelseg.batch import BATCH_OPTIONS
from vowelseg.errors import VowelsegError
from vowelseg.hmm.model import DEFAULT_MODEL, resolve_model
from vowelseg.option_flags import add_option_flags, options_from_args


class _Help(argparse.HelpFormatter):
    """Help that shows each option's default (where it has one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.option_strings and action.default is not None
                and action.default is not False and action.default != argparse.SUPPRESS
                and "%(default)" not in text):
            text += " (default: %(default)s)"
        return text


#: What ``segment`` can write (its ``--json``, ``--textgrid``, ... and ``--formats``
#: names), and the API's name of each rendering (:data:`vowelseg.render.OUTPUTS`).
FORMATS = {"json": "json", "textgrid": "textgrid", "wav": "wav", "png": "png", "csv": "csv",
           "chart": "vowel-chart"}


def recordings(inputs: list[str], transcript_files: list[str] | None,
               ) -> list[tuple[Path, str | Path]]:
    """The recordings named on the ``segment`` command line, each with its
    transcript: the words themselves, or the file to read them from.

    ``AUDIO TRANSCRIPT`` is one recording and its words; ``AUDIO [AUDIO ...]``
    takes each transcript from ``--transcript-file`` (one per recording, in
    order) or else from the ``.lab``/``.txt`` file beside it.

    Raises
    ------
    TranscriptError
        If the recordings and transcripts do not pair up.
    AudioError
        If a name that can only be a recording names no file.
    """
    from vowelseg.errors import AudioError, TranscriptError
    from vowelseg.text.files import AUDIO_SUFFIXES, transcript_beside

    *audios, last = inputs
    if transcript_files is None and audios and not (
            Path(last).is_file() or Path(last).suffix.lower() in AUDIO_SUFFIXES):
        if len(audios) > 1:
            raise TranscriptError("a transcript on the command line is for one recording; "
                                  "give several recordings their transcripts with "
                                  "--transcript-file or as .txt/.lab files beside them")
        return [(Path(audios[0]), last)]
    paths = [Path(a) for a in inputs]
    for path in paths:
        if not path.exists():
            raise AudioError(f"no such file: {path}")
    if transcript_files is not None:
        if len(transcript_files) != len(paths):
            raise TranscriptError(f"{len(paths)} recording(s) but {len(transcript_files)} "
                                  "--transcript-file: give one per recording, in order")
        return [(a, Path(t)) for a, t in zip(paths, transcript_files, strict=True)]
    pairs: list[tuple[Path, str | Path]] = []
    for path in paths:
        beside = transcript_beside(path)
        if beside is None:
            raise TranscriptError(f"no transcript for {path}: give it after the file name, "
                                  f"with --transcript-file, or as {path.with_suffix('.txt')}")
        pairs.append((path, beside))
    return pairs


def _write(path: str | Path, body: str | bytes) -> None:
    """A rendering to a file: text or bytes as it comes."""
    if isinstance(body, str):
        Path(path).write_text(body)
    else:
        Path(path).write_bytes(body)


def _segment(args: argparse.Namespace) -> int:
    from vowelseg import cores
    from vowelseg.audio.io import read_audio
    from vowelseg.errors import TranscriptError
    from vowelseg.pipeline import load_resources, segment
    from vowelseg.render import OUTPUTS, render
    from vowelseg.reply import build
    from vowelseg.text.files import read_transcript

    pairs = recordings(args.inputs, args.transcript_file)
    paths = {name: getattr(args, name) for name in FORMATS}
    named = [name for name, path in paths.items() if path]
    if len(pairs) > 1 and named:
        raise TranscriptError(f"--{named[0]} names one output file; for several recordings "
                              "use --out-dir (and --formats)")
    if len(pairs) > 1 and not args.out_dir:
        raise TranscriptError("several recordings need --out-dir, the folder to write to")
    stems = [audio.stem for audio, _ in pairs]
    if len(set(stems)) < len(stems):
        raise TranscriptError("two recordings have the same name and would write the same "
                              "outputs; for a corpus in folders use vowelseg batch")
    formats = set(args.formats) if args.out_dir else set(named)
    options = options_from_args(args, measures=bool(args.measures or {"csv", "chart"} & formats),
                                measure_processes=cores.usable_cores())
    resources = load_resources(args.model)
    failed = 0
    for audio_path, transcript in pairs:
        try:
            text = transcript if isinstance(transcript, str) else read_transcript(transcript)
            audio = read_audio(audio_path)
            seg = segment(audio, text, resources, options)
        except VowelsegError as exc:
            if len(pairs) == 1:
                raise
            print(f"vowelseg: FAILED {audio_path}: {exc.message}", file=sys.stderr)
            failed += 1
            continue
        where = f" {audio_path}" if len(pairs) > 1 else ""
        for warning in seg.warnings:
            print(f"vowelseg: warning [{warning.code}]{where}: {warning.message}",
                  file=sys.stderr)
        if args.out_dir:
            stem = Path(args.out_dir) / audio_path.stem
            stem.parent.mkdir(parents=True, exist_ok=True)
            targets = {name: f"{stem}{OUTPUTS[FORMATS[name]].suffix}" for name in formats}
        else:
            targets = {name: paths[name] for name in formats}
        fade_s = args.fade_ms / 1000.0
        reply = build(seg)  # once, for every format written
        for name, target in targets.items():
            _write(target, render(FORMATS[name], audio, reply, args.mode, fade_s))
        if not targets:
            print(render("json", audio, reply), end="")
    if failed:
        print(f"vowelseg: {failed} of {len(pairs)} recordings failed", file=sys.stderr)
    return 1 if failed else 0


def _measure(args: argparse.Namespace) -> int:
    from vowelseg import cores
    from vowelseg.errors import TranscriptError
    from vowelseg.pipeline import measure
    from vowelseg.render import render
    from vowelseg.reply import build

    try:
        textgrid = Path(args.textgrid).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise TranscriptError(f"cannot read the TextGrid {args.textgrid}: "
                              f"{exc.strerror or exc}") from exc
    seg = measure(Path(args.audio), textgrid, args.tier, processes=cores.usable_cores())
    targets = {name: getattr(args, name) for name in ("json", "chart", "csv")}
    reply = build(seg)
    for name, target in targets.items():
        if target:
            _write(target, render(FORMATS[name], None, reply))
    if not any(targets.values()):
        print(render("csv", None, reply), end="")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from vowelseg.batch import main as batch_main

    return batch_main(args)


def _serve(args: argparse.Namespace) -> int:
    from vowelseg.service.server import serve
    from vowelseg.service.settings import ServiceSettings

    given = {"model": str(args.model)} if args.model is not None else {}
    serve(ServiceSettings(**given, json_log=True), args.host, args.port, args.workers)
    return 0


def _command(sub: argparse._SubParsersAction, name: str,
             help_text: str) -> argparse.ArgumentParser:
    """A sub-command whose help shows every option's default."""
    return sub.add_parser(name, help=help_text, description=help_text, formatter_class=_Help)


def _model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL.name,
                   help="acoustic model: a bundled model's name (vowelseg-en, "
                        "vowelseg-en-synthetic) or the path of a model's .json/.npz")


def _segment_parser(sub: argparse._SubParsersAction) -> None:
    """The ``segment`` sub-command's options."""
    p = _command(sub, "segment", "align recordings to their transcripts and write "
                 "the vowels: JSON, TextGrid, vowel-only WAV, picture, measurements")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a recording (WAV, FLAC, OGG or MP3) and the words spoken; or several "
                        "recordings, each with its transcript in --transcript-file or in a "
                        ".txt/.lab file beside it (a.wav: a.txt)")
    p.add_argument("--transcript-file", metavar="FILE", nargs="+",
                   help="read the transcripts from text files, one per recording in order "
                        "(.txt, .lab; TIMIT's .txt with its leading sample offsets too)")
    p.add_argument("--out-dir", metavar="DIR",
                   help="write each recording's outputs here, named after it (a.wav: a.json, "
                        "a.TextGrid, ...); needed for several recordings")
    p.add_argument("--formats", nargs="+", choices=tuple(FORMATS), default=["json",
                   "textgrid"], metavar="FORMAT",
                   help=f"--out-dir: what to write for each recording ({', '.join(FORMATS)})")
    p.add_argument("--json", help="write the JSON reply here (default: print it)")
    p.add_argument("--textgrid", help="write a Praat TextGrid here")
    p.add_argument("--wav", help="write vowel-only audio here")
    p.add_argument("--png", help="write a picture here: waveform and spectrogram, vowels "
                                 "shaded, words underneath")
    p.add_argument("--csv", help="write the vowels' measurements here, a row per vowel")
    p.add_argument("--chart", help="write an F1/F2 vowel chart here (PNG)")
    p.add_argument("--mode", choices=("concat", "mask"), default="concat",
                   help="--wav: the vowels one after another (concat), or the whole "
                        "recording with everything but the vowels silenced (mask)")
    p.add_argument("--fade-ms", type=float, default=5.0,
                   help="--wav: fade in and out around each vowel cut, ms")
    _model_option(p)
    add_option_flags(p)
    p.set_defaults(func=_segment)


def _measure_parser(sub: argparse._SubParsersAction) -> None:
    """The ``measure`` sub-command's options."""
    p = _command(sub, "measure", "measure the vowels of an existing alignment: a TextGrid "
                 "whose phone tier is ARPAbet (vowelseg's, the Montreal Forced Aligner's)")
    p.add_argument("audio", help="the recording (WAV, FLAC, OGG or MP3)")
    p.add_argument("textgrid", help="its TextGrid")
    p.add_argument("--tier", help="the phone tier's name (default: 'phones' or '… - phones')")
    p.add_argument("--csv", help="write the table here (default: print it)")
    p.add_argument("--json", help="write the JSON reply here")
    p.add_argument("--chart", help="write an F1/F2 vowel chart here (PNG)")
    p.set_defaults(func=_measure)


def _batch_parser(sub: argparse._SubParsersAction) -> None:
    """The ``batch`` sub-command's options."""
    p = _command(sub, "batch", "align a corpus folder (audio + .txt/.lab beside it) "
                       "to JSON and TextGrid files; resumable")
    p.add_argument("corpus", help="folder of audio files with transcripts beside them "
                                  "(speaker sub-folders allowed)")
    p.add_argument("out", help="output folder (same sub-folders)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local processes (default: the number of cores, here %(default)s)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on a Dask distributed scheduler instead, e.g. tcp://host:8786")
    _model_option(p)
    add_option_flags(p, defaults=BATCH_OPTIONS)
    p.set_defaults(func=_batch)


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    """The ``serve`` sub-command's options."""
    p = _command(sub, "serve", "run the HTTP service")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--model", default=None,
                   help="acoustic model: a bundled model's name or a model's path "
                        "(default: $VOWELSEG_MODEL, else vowelseg-en)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (each loads the model, ~0.4 GB); a worker that "
                        "dies is replaced. Limits: VOWELSEG_* environment variables")
    p.set_defaults(func=_serve)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="vowelseg", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Where every vowel is in an English recording, given its transcript.\n"
                    "'vowelseg COMMAND --help' for each command. The models are rebuilt\n"
                    "and measured by vowelseg-lab.",
        epilog="exit codes:\n  0  done\n  1  batch, or segment of several recordings, "
               "finished with some\n     failed (each named on standard error)\n  2  the "
               "command line, an input or a setting was refused (one line\n     says why)")
    parser.add_argument("--version", action="version", version=f"vowelseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_segment_parser, _measure_parser, _batch_parser, _serve_parser):
        add(sub)
    return parser


def run(args: argparse.Namespace, prog: str = "vowelseg",
        models: tuple[str, ...] = ("model",)) -> int:
    """Run a parsed command (``args.func``), the options named in ``models``
    resolved to model paths first; an error the user can mend is one line on
    standard error, prefixed ``prog:``, and exit code 2."""
    try:
        for name in models:
            if getattr(args, name, None) is not None:
                setattr(args, name, resolve_model(getattr(args, name)))
        return args.func(args)
    except VowelsegError as exc:
        print(f"{prog}: {exc.message}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a setting (VOWELSEG_*) or option out of range
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
                             for e in exc.errors())
        print(f"{prog}: invalid setting ({problems})", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vowelseg`` command.

    Exit codes: 0 success; 1 ``batch`` or ``segment`` of several
    recordings finished with some failed (each named on standard error);
    2 the command line, an input or a setting was refused (one line on
    standard error says why).
    """
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
