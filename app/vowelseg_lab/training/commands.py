"""The training commands (``vowelseg-lab train``, ``adapt``, ``synth-corpus``,
``fit-boundaries``): each takes the parsed arguments of :mod:`vowelseg_lab.cli`,
runs, and returns an exit code."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from vowelseg.hmm.model import shown_path


def train(args: argparse.Namespace) -> int:
    from vowelseg.hmm.model import save_model

    from vowelseg_lab.training.recipe import TrainConfig, train_model

    config = TrainConfig(n_utterances=args.utterances, seed=args.seed, n_mix=args.mix)
    model = train_model(config, workers=args.workers,
                        progress=lambda s: print(s, file=sys.stderr, flush=True))
    model.card["recipe"] = (f"vowelseg-lab train --out {shown_path(args.out)} "
                            f"--utterances {args.utterances} "
                            f"--seed {args.seed} --mix {args.mix}")
    save_model(model, Path(args.out))
    print(f"wrote {args.out}.npz and {args.out}.json", file=sys.stderr)
    return 0


def synth_corpus(args: argparse.Namespace) -> int:
    from vowelseg_lab.training.corpus import write_corpus
    from vowelseg_lab.training.recipe import labelled_corpus

    n = write_corpus(Path(args.out), labelled_corpus(args.utterances, args.seed))
    print(f"wrote {n} utterances to {args.out} (TIMIT format: manifest.tsv, .wav, .phn, .wrd)",
          file=sys.stderr)
    return 0


def adapt(args: argparse.Namespace) -> int:
    from vowelseg.hmm.model import load_model, save_model
    from vowelseg.hmm.vtln import DEFAULT_WARPS
    from vowelseg.text.g2p import load_lexicon

    from vowelseg_lab.training.corpus import read_corpus, speaker_of
    from vowelseg_lab.training.recipe import AdaptConfig, fit_to_corpus

    prior = load_model(args.prior)
    utterances = read_corpus(Path(args.corpus))
    config = AdaptConfig(method=args.method, n_mix=args.mix, speeds=tuple(args.speeds),
                         noise=tuple(args.noise), noise_snr_db=tuple(args.noise_snr_db),
                         vtlp_warps=tuple(args.vtlp_warps),
                         vtln_warps=DEFAULT_WARPS if args.vtln else (),
                         normalisation=args.normalisation,
                         min_duration_percentile=args.min_duration_percentile)
    print(f"fitting {shown_path(args.prior)} to {len(utterances)} utterances of {args.corpus} "
          f"({config})", file=sys.stderr)
    model = fit_to_corpus(prior, utterances, config, load_lexicon())
    card = dict(prior.card)
    card.pop("benchmarks", None)
    card.update({
        "prior": Path(args.prior).name,
        "licence": "derived from the hand-labelled speech it was adapted on: for the "
                   "timit-dev sample (LDC, CC BY-NC-SA) the model is for non-commercial use "
                   "and shared alike; the synthetic-only prior carries no such terms",
        "adapted_on": {"corpus": Path(args.corpus).name, "utterances": len(utterances),
                       "speakers": sorted({speaker_of(u) for u in utterances})},
        "adapt_config": dataclasses.asdict(config),
        "adapt_recipe": f"vowelseg-lab adapt --prior {shown_path(args.prior)} "
                        f"--corpus {args.corpus} --out {shown_path(args.out)} "
                        f"--method {args.method} --mix {args.mix} "
                        f"--speeds {' '.join(f'{s:g}' for s in args.speeds)}"
                        + (f" --noise {' '.join(args.noise)} --noise-snr-db "
                           f"{' '.join(f'{s:g}' for s in args.noise_snr_db)}"
                           if args.noise else "")
                        + (f" --vtlp-warps {' '.join(f'{w:g}' for w in args.vtlp_warps)}"
                           if args.vtlp_warps else "")
                        + (" --vtln" if args.vtln else "")
                        + (f" --normalisation {args.normalisation}" if args.normalisation
                           else "")
                        + (f" --min-duration-percentile {args.min_duration_percentile:g}"
                           if args.min_duration_percentile is not None else ""),
    })
    if args.boundary_model:
        card["adapt_recipe"] += " --boundary-model"
    save_model(dataclasses.replace(model, card=card), Path(args.out))
    print(f"wrote {args.out}.npz and {args.out}.json", file=sys.stderr)
    if args.boundary_model:
        return fit_boundaries(argparse.Namespace(model=Path(args.out), corpus=args.corpus))
    return 0


def fit_boundaries(args: argparse.Namespace) -> int:
    """Fit a model's boundary corrector and calibrators on speaker-held-out
    alignments of the corpus it was adapted on, and save them beside it."""
    from vowelseg.boundaries.corrector import path_for, save
    from vowelseg.hmm.model import load_model

    from vowelseg_lab.bench.metrics import heldout_recipe
    from vowelseg_lab.training import boundary_model
    from vowelseg_lab.training.corpus import read_corpus

    model = load_model(args.model)
    utterances = read_corpus(Path(args.corpus))
    recipe = heldout_recipe(model, Path(args.model), utterances)
    if recipe is None:
        return (f"{shown_path(args.model)} was not adapted on {args.corpus}: its card names no "
                "speaker of it, so there are no held-out alignments to learn from")
    prior_path, config, _ = recipe
    if not boundary_model.enough_speakers(utterances):
        return (f"{args.corpus} has fewer than {boundary_model.MIN_SPEAKERS} speakers: the "
                "boundary model's "
                "calibration is fitted on scores from models that left one speaker out, "
                "each needing two speakers besides it")
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    say(f"aligning each speaker of {args.corpus} with {prior_path.name} fitted on the others "
        "(the recipe's held-out rounds; about 15 minutes on 2 cores)")
    examples = boundary_model.heldout_examples(utterances, prior_path, config, say=say)
    fitted = boundary_model.fit(examples, say)
    fitted = dataclasses.replace(fitted, card={
        **fitted.card, "corpus": Path(args.corpus).name,
        "recipe": f"vowelseg-lab fit-boundaries --model {shown_path(args.model)} "
                  f"--corpus {args.corpus}"})
    save(fitted, path_for(Path(args.model)))
    print(f"wrote {path_for(Path(args.model))}", file=sys.stderr)
    return 0
