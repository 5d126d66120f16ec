"""The ``vowelseg-lab`` command: ``train``, ``synth-corpus``, ``adapt`` and
``fit-boundaries`` rebuild the models; the ``bench`` commands measure them.

Every corpus is named on the command line (``--corpus``): nothing defaults to a
folder outside the repository. A command whose extra is not installed says
which one to install."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vowelseg import __version__
from vowelseg.boundaries.posterior import POSTERIOR_SCALE
from vowelseg.cli import _command, _model_option, run
from vowelseg.features.mfcc import NORMALISATIONS
from vowelseg.hmm.model import DEFAULT_MODEL, SYNTHETIC_MODEL

from vowelseg_lab.bench import commands as bench_commands
from vowelseg_lab.training import commands as training_commands

PROG = "vowelseg-lab"

Sub = argparse._SubParsersAction


def warp_factor(text: str) -> float:
    """A mel-filter warp factor for ``--vtlp-warps``: a number in 0.7-1.3."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.7 <= value <= 1.3:
        raise argparse.ArgumentTypeError(f"{text!r} is not a warp factor in 0.7-1.3 "
                                         "(e.g. 0.9 or 1.1)")
    return value


def _corpus_option(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--corpus", required=True, help=help_text)


def _benchmark(sub: Sub, name: str, help_text: str, func: str) -> argparse.ArgumentParser:
    """A benchmark sub-command with the options all of them share."""
    p = _command(sub, name, help_text)
    _corpus_option(p, "TIMIT-format folder (manifest.tsv, .wav, .phn, .wrd), e.g. "
                      "../shared/data/timit-dev")
    _model_option(p)
    p.add_argument("--json", help="also write the figures as JSON here")
    p.set_defaults(func=getattr(bench_commands, func))
    return p


def _train_parser(sub: Sub) -> None:
    """The ``train`` and ``synth-corpus`` sub-commands' options."""
    p = _command(sub, "train", "rebuild the acoustic model from synthetic speech")
    p.add_argument("--out", type=Path, default=SYNTHETIC_MODEL,
                   help="where to write the model (NAME.npz and NAME.json)")
    p.add_argument("--utterances", type=int, default=1200, help="sentences to synthesise")
    p.add_argument("--seed", type=int, default=0, help="random seed of the sentences and noise")
    p.add_argument("--mix", type=int, default=4, help="Gaussians per state")
    p.add_argument("--workers", type=int, default=2, help="processes fitting phones")
    p.set_defaults(func=training_commands.train)

    p = _command(sub, "synth-corpus", "write exactly-labelled synthetic speech "
                       "(espeak-ng + MBROLA) as a TIMIT-format corpus, words timed too")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--utterances", type=int, default=80, help="sentences to synthesise")
    p.add_argument("--seed", type=int, default=1, help="the training recipe uses 0")
    p.set_defaults(func=training_commands.synth_corpus)


def _adapt_parser(sub: Sub) -> None:
    """The ``adapt`` sub-command's options."""
    p = _command(sub, "adapt", "adapt a model to hand-labelled speech (TIMIT format)")
    p.add_argument("--prior", default=SYNTHETIC_MODEL.name,
                   help="model to start from: a bundled model's name or a path")
    _corpus_option(p, "TIMIT-format folder of hand-labelled speech, e.g. "
                      "../shared/data/timit-dev")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL,
                   help="where to write the model (NAME.npz and NAME.json)")
    p.add_argument("--method", choices=("ml", "map"), default="ml",
                   help="ml: re-train each phone on the real data (prior where data is "
                        "thin); map: MAP re-estimation from the prior")
    p.add_argument("--mix", type=int, default=2, help="Gaussians per state (ml)")
    p.add_argument("--speeds", type=float, nargs="+", default=[1.0],
                   help="speed-perturbation factors, e.g. 0.9 1.0 1.1")
    p.add_argument("--noise", nargs="*", choices=("white", "babble"), default=[],
                   help="add a copy of the data with this noise mixed in (babble: four "
                        "other speakers of the corpus); a kind named twice adds two copies, "
                        "with different noise and SNRs")
    p.add_argument("--noise-snr-db", type=float, nargs=2, default=[5.0, 30.0],
                   metavar=("LOW", "HIGH"), help="SNR range of the noisy copies, dB")
    p.add_argument("--vtlp-warps", type=warp_factor, nargs="+", default=[], metavar="W",
                   help="vocal-tract-length perturbation: add a copy of the data analysed with "
                        "the mel filters warped by each factor, e.g. 0.9 1.1 (more voices than "
                        "the corpus has)")
    p.add_argument("--vtln", action="store_true",
                   help="vocal-tract-length normalisation: store the warp grid 0.80-1.20 in "
                        "the model, so every input voice is warped to fit it (the HMMs are "
                        "fitted unwarped)")
    p.add_argument("--normalisation", choices=NORMALISATIONS, default=None,
                   help="per-utterance feature normalisation: mvn (mean and variance) or "
                        "heq (histogram equalisation); default: the prior's")
    p.add_argument("--min-duration-percentile", type=float, default=None, metavar="PCT",
                   help="give each phone at least this percentile of its durations in the "
                        "corpus (perturbed copies included), e.g. 5; default: no minimum "
                        "beyond one frame per HMM state")
    p.add_argument("--boundary-model", action="store_true",
                   help="then fit the boundary corrector and calibrated confidences "
                        "(vowelseg-lab fit-boundaries) on held-out alignments of the corpus")
    p.set_defaults(func=training_commands.adapt)


def _fit_boundaries_parser(sub: Sub) -> None:
    """The ``fit-boundaries`` sub-command's options."""
    p = _command(sub, "fit-boundaries", "fit a model's boundary corrector and calibrated "
                 "confidences on speaker-held-out alignments of the corpus it was adapted on "
                 "(saved beside it as NAME.boundaries.npz)")
    _model_option(p)
    _corpus_option(p, "the TIMIT-format folder the model was adapted on")
    p.set_defaults(func=training_commands.fit_boundaries)


def _bench_parser(sub: Sub) -> None:
    """The ``bench`` sub-command's options."""
    p = _benchmark(sub, "bench", "accuracy and speed on a TIMIT-format folder",
                   "bench")
    p.add_argument("--limit", type=int, default=0, help="first N utterances only")
    p.add_argument("--vad", type=int, choices=range(4), default=3,
                   help="VAD aggressiveness")
    p.add_argument("--peer", choices=("pocketsphinx",), help="also run a peer aligner")
    p.add_argument("--posterior-scale", type=float, metavar="S",
                   help="scale of the emission log-likelihoods in the posterior boundary "
                        f"placement (default {POSTERIOR_SCALE}; 0: the Viterbi path's edges)")
    p.add_argument("--train-speakers", type=int, metavar="K",
                   help="learning curve: each held-out round fits the recipe on the K speakers "
                        "after the held-out one (sorted, wrapping round) instead of all others")
    p.add_argument("--as-fitted", action="store_true",
                   help="score the model as it is, even on speakers it was fitted on (how "
                        "well it fits its own training data: an upper bound, not an estimate)")
    p.add_argument("--verbose", action="store_true", help="report progress on standard error")
    p.add_argument("--update-card", action="store_true",
                   help="store the figures in the model's card (models/NAME.json)")


def _bench_long_parser(sub: Sub) -> None:
    """The ``bench-long`` sub-command's options."""
    p = _benchmark(sub, "bench-long", "time, memory and drift on long recordings "
                   "(TIMIT-format utterances concatenated)", "bench_long")
    p.add_argument("--lengths", type=float, nargs="+", default=[10, 60, 600, 3600],
                   help="recording lengths, seconds")
    p.add_argument("--peer", choices=("pocketsphinx", "none"), default="pocketsphinx",
                   help="peer aligner run on the same utterances one by one")
    p.add_argument("--no-http", dest="http", action="store_false",
                   help="skip the HTTP latency and cold-start measurement")
    p.add_argument("--plot", default="bench-long.png", help="PNG of time and memory vs length")
    p.add_argument("--measures", action="store_true",
                   help="also align and measure every vowel, and compare the time")


def _bench_robust_parser(sub: Sub) -> None:
    """The ``bench-robust`` sub-command's options."""
    p = _benchmark(sub, "bench-robust", "accuracy under transcript mismatch, noise, babble, "
                   "telephone and studio rates, long silence/noise", "bench_robust")
    p.add_argument("--limit", type=int, default=0, help="first N utterances only")
    p.add_argument("--only", nargs="+", help="condition names to run (default: all)")
    for flag, what in (("--skip-logp", "leaving out a transcript word"),
                       ("--filler-entry-logp", "entering the untranscribed-speech filler"),
                       ("--filler-frame-logp", "each frame in the filler")):
        p.add_argument(flag, type=float, help=f"log-probability of {what} in the transcript "
                       "conditions (default: what transcript_match=approximate uses)")


def _bench_formants_parser(sub: Sub) -> None:
    """The ``bench-formants`` sub-command's options."""
    p = _benchmark(sub, "bench-formants", "vowel formants side by side with FastTrack "
                   "(fasttrackpy) or new-fave on the same intervals", "bench_formants")
    p.add_argument("--limit", type=int, default=0, help="first N utterances only")
    p.add_argument("--peer", choices=("fasttrack", "new-fave"), default="fasttrack",
                   help="the tool measured beside vowelseg")
    p.add_argument("--fave-extract", metavar="PATH",
                   help="new-fave's fave-extract program, for --peer new-fave (new-fave pins "
                        "numpy below 2.3: install it in its own environment)")
    p.add_argument("--no-heuristics", dest="heuristics", action="store_false",
                   help="run FastTrack without its six heuristics (new-fave runs them)")


def _bench_input_parser(sub: Sub) -> None:
    """The ``bench-input`` sub-command's options."""
    p = _benchmark(sub, "bench-input", "bad input: recordings without speech, speech in "
                   "noise, transcripts that do not match, MP3 timing", "bench_input")
    p.add_argument("--limit", type=int, default=0, help="first N utterances only")
    p.add_argument("--as-fitted", action="store_true",
                   help="check the transcripts with the model as it is, even on speakers it "
                        "was fitted on (quick, but flatters the fit)")


def _bench_load_parser(sub: Sub) -> None:
    """The ``bench-load`` sub-command's options."""
    p = _benchmark(sub, "bench-load", "concurrent clients against a multi-worker server "
                   "(latency, throughput, 503s, memory, a worker killed)", "bench_load")
    p.add_argument("--workers", type=int, default=2, help="server processes")
    p.add_argument("--clients", type=int, nargs="+", default=[8, 32],
                   help="client threads of each run")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each run")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="vowelseg's lab: train, adapt, fit-boundaries and synth-corpus rebuild\n"
                    "the models (the [train] extra); the bench commands measure them\n"
                    f"([bench]). '{PROG} COMMAND --help' for each.",
        epilog="exit codes:\n  0  done\n  1  fit-boundaries found nothing to learn from (it "
               "says why)\n  2  the command line, an input or a setting was refused, or an "
               "extra is\n     missing (one line says why)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_train_parser, _adapt_parser, _fit_boundaries_parser, _bench_parser,
                _bench_long_parser, _bench_robust_parser, _bench_formants_parser,
                _bench_input_parser, _bench_load_parser):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vowelseg-lab`` command.

    Exit codes: 0 success; 2 the command line, an input or a setting was
    refused, or the command's extra is not installed (one line on standard
    error says why); ``fit-boundaries`` returns its reason when there is
    nothing to learn from (exit code 1).
    """
    args = build_parser().parse_args(argv)
    try:
        return run(args, PROG, models=("model", "prior"))
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("vowelseg"):
            raise
        extra = "bench" if args.func.__module__ == bench_commands.__name__ else "train"
        print(f"{PROG} {args.command} needs {exc.name}, which the service install leaves "
              f"out: pip install 'vowelseg[{extra}]' (from a checkout: pip install -e "
              f"'.[{extra}]')", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
