"""Command line: ``vowelseg segment | serve | train | bench``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from vowelseg.boundaries.posterior import POSTERIOR_SCALE
from vowelseg.errors import VowelsegError
from vowelseg.features.mfcc import NORMALISATIONS
from vowelseg.hmm.model import DEFAULT_MODEL, MODELS_DIR, SYNTHETIC_MODEL


def _shown(path: Path | str) -> str:
    """A path as a user would type it: relative to the repository when inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(MODELS_DIR.parent))
    except ValueError:
        return str(path)


def _segment(args: argparse.Namespace) -> int:
    from vowelseg.audio.io import read_audio
    from vowelseg.pipeline import Options, load_resources, segment
    from vowelseg.render import to_json, to_png, to_textgrid, to_wav

    audio = read_audio(Path(args.audio))
    from vowelseg.align.graph import STRICT, TOLERANT

    seg = segment(audio, args.transcript, load_resources(args.model),
                  Options(vad_aggressiveness=args.vad, vtln=not args.no_vtln,
                          mismatch=TOLERANT if args.approximate else STRICT,
                          posterior_scale=None if args.viterbi_boundaries else POSTERIOR_SCALE))
    reply = json.dumps(to_json(seg), indent=2)
    if args.json:
        Path(args.json).write_text(reply + "\n")
    if args.textgrid:
        Path(args.textgrid).write_text(to_textgrid(seg))
    if args.wav:
        Path(args.wav).write_bytes(to_wav(audio, seg, args.mode, args.fade_ms / 1000.0))
    if args.png:
        Path(args.png).write_bytes(to_png(audio, seg))
    if not (args.json or args.textgrid or args.wav or args.png):
        print(reply)
    return 0


def _batch(args: argparse.Namespace) -> int:
    from vowelseg.batch import main as batch_main

    return batch_main(args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from vowelseg.hmm.gmm import one_blas_thread
    from vowelseg.service.api import LOG_ENV, MODEL_ENV, create_app

    os.environ[LOG_ENV] = "1"
    # One BLAS thread per process (requests already run side by side): the
    # worker processes' BLAS reads these as it loads; this process's is loaded.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    one_blas_thread()
    if args.workers == 1:
        uvicorn.run(create_app(args.model), host=args.host, port=args.port,
                    access_log=False, timeout_graceful_shutdown=30)
        return 0
    # Worker processes: uvicorn's supervisor starts a replacement for any that dies.
    os.environ[MODEL_ENV] = str(Path(args.model).resolve())
    uvicorn.run("vowelseg.service.api:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, access_log=False, timeout_graceful_shutdown=30)
    return 0


def _train(args: argparse.Namespace) -> int:
    from vowelseg.hmm.model import save_model
    from vowelseg.training.recipe import TrainConfig, train_model

    config = TrainConfig(n_utterances=args.utterances, seed=args.seed, n_mix=args.mix)
    model = train_model(config, workers=args.workers,
                        progress=lambda s: print(s, file=sys.stderr, flush=True))
    model.card["recipe"] = (f"vowelseg train --out {_shown(args.out)} "
                            f"--utterances {args.utterances} "
                            f"--seed {args.seed} --mix {args.mix}")
    save_model(model, Path(args.out))
    print(f"wrote {args.out}.npz and {args.out}.json", file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from vowelseg.bench import metrics as bench
    from vowelseg.pipeline import Options, load_resources, segment
    from vowelseg.training.corpus import read_corpus

    utterances = read_corpus(Path(args.corpus))[: args.limit or None]
    resources = load_resources(args.model)
    scale = POSTERIOR_SCALE if args.posterior_scale is None else args.posterior_scale
    options = Options(vad_aggressiveness=args.vad, posterior_scale=scale if scale > 0 else None)
    recipe = bench.heldout_recipe(resources.model, args.model, utterances)
    if args.as_fitted:
        if args.update_card or args.train_speakers is not None:
            print("vowelseg bench: --as-fitted scores the model on speakers it may have been "
                  "fitted on: not with --update-card or --train-speakers", file=sys.stderr)
            return 2
        if recipe:
            print(f"scoring the model as fitted on {recipe[2]} speakers of this corpus: how "
                  "well it fits its own training data, not an estimate for new voices")
        recipe = None
    if args.train_speakers is not None:
        problem = _train_speakers_problem(args, recipe, utterances)
        if problem:
            print(f"vowelseg bench: {problem}", file=sys.stderr)
            return 2
    say = (lambda s: print(s, file=sys.stderr)) if args.verbose else None
    segment(utterances[0].wav, utterances[0].text, resources, options)  # JIT warm-up
    if recipe:
        prior_path, config, n_seen = recipe
        trained = (f"{args.train_speakers} of the other speakers" if args.train_speakers
                   else "the other speakers")
        print(f"the model was adapted on {n_seen} speakers of this corpus: scoring "
              f"speaker-held-out (prior adapted on {trained}, each speaker in turn)")
        tally = bench.run_heldout(utterances, prior_path, options, config, progress=say,
                                  train_speakers=args.train_speakers)
    else:
        tally = bench.run(utterances, lambda u: segment(u.wav, u.text, resources, options), say)
    metrics = tally.metrics()
    rows = {"vowelseg": metrics}
    if args.peer == "pocketsphinx":
        from vowelseg.bench.peers import pocketsphinx_decoder, pocketsphinx_segment

        decoder = pocketsphinx_decoder()
        peer = bench.run(utterances, lambda u: pocketsphinx_segment(
            decoder, u.wav, u.text, resources.lexicon), say)
        rows["pocketsphinx"] = peer.metrics()
        for utt_id, why in peer.failures:
            print(f"pocketsphinx FAILED {utt_id}: {why}")
    print(f"corpus: {args.corpus} ({tally.utterances} utterances, {tally.audio_s:.1f} s of "
          f"audio); model: {_shown(args.model)}")
    print(bench.format_table(rows))
    if len(rows) > 1:
        ratio = rows["pocketsphinx"]["rtf"] / max(1e-9, metrics["rtf"])
        print(f"speed: vowelseg is {ratio:.1f}x faster per audio second than pocketsphinx "
              "(same utterances, same run)")
    print(f"alignment wall time {tally.wall_s:.2f} s for {tally.audio_s:.1f} s of audio "
          "(decode + features + Viterbi + boundary posteriors per utterance): real-time "
          f"factor {metrics['rtf']:.4f}")
    for utt_id, why in tally.failures:
        print(f"FAILED {utt_id}: {why}")
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2) + "\n")
    if args.update_card:
        _record_in_card(args, tally.utterances, metrics, heldout=recipe is not None)
    return 0


def _train_speakers_problem(args: argparse.Namespace, recipe: object,
                            utterances: list) -> str | None:
    """What is wrong with ``--train-speakers`` here, if anything."""
    from vowelseg.bench import metrics as bench
    from vowelseg.training.corpus import speaker_of

    if recipe is None:
        return ("--train-speakers needs a model the recipe fitted on this corpus (its card "
                "names the speakers); this one saw none of them")
    if args.update_card:
        return "--train-speakers figures do not go in the card: drop --update-card"
    speakers = sorted({speaker_of(u) for u in utterances})
    try:
        bench.training_speakers(speakers, speakers[0], args.train_speakers)
    except ValueError as exc:
        return str(exc)
    return None


def _bench_long(args: argparse.Namespace) -> int:
    from vowelseg.bench import long as longbench
    from vowelseg.bench import metrics as bench
    from vowelseg.pipeline import Options, load_resources, segment
    from vowelseg.training.corpus import read_corpus

    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    utterances = read_corpus(Path(args.corpus))
    resources = load_resources(args.model)
    segment(utterances[0].wav, utterances[0].text, resources)  # JIT warm-up
    per_utt = {u.utt_id: bench.run([u], lambda u: segment(u.wav, u.text, resources, Options()))
               for u in utterances}
    ours = bench.Tally()
    for tally in per_utt.values():
        ours.merge(tally)
    say(f"per-utterance: {ours.utterances} utterances aligned in {ours.wall_s:.2f} s")
    results = longbench.run(Path(args.corpus), args.model, args.lengths, per_utt, say)
    print(f"corpus: {args.corpus}; model: {_shown(args.model)} (each length aligned in its own "
          "process, warm; wall = decode + VAD + features + Viterbi + boundary posteriors; "
          "peak MB = process peak RSS)")
    print(longbench.format_lengths(results))
    print("max |diff| = largest change from aligning the same utterances one by one, over all "
          "accuracy figures (points; word MAE in ms)")
    if len(results) > 1:
        one = min(results, key=lambda r: abs(r["audio_s"] - 60))
        last = results[-1]
        growth = (last["wall_s"] / last["audio_s"]) / (one["wall_s"] / one["audio_s"])
        print(f"time per audio second, {longbench._dur(last['audio_s'])} vs "
              f"{longbench._dur(one['audio_s'])}: {growth:.2f}x (1.00 = linear)")
    last = results[-1]
    for part in ("first_minute", "last_minute"):
        m, ref = last[part], last[f"{part}_per_utterance"]
        print(f"{part.replace('_', ' ')} of {longbench._dur(last['audio_s'])} "
              f"({m['utterances']} utterances): "
              + ", ".join(f"{k} {m[k]:.3f} (alone {ref[k]:.3f})"
                          for k in ("frame_acc3", "vb_f1@20", "pb@20", "wb@20")))
    summary = {"lengths": results}
    if args.peer == "pocketsphinx":
        from vowelseg.bench.peers import pocketsphinx_decoder, pocketsphinx_segment

        decoder = pocketsphinx_decoder()
        peer = bench.run(utterances, lambda u: pocketsphinx_segment(
            decoder, u.wav, u.text, resources.lexicon))
        ratio = peer.metrics()["rtf"] / ours.metrics()["rtf"]
        print(f"same {ours.utterances} utterances one by one: vowelseg RTF "
              f"{ours.metrics()['rtf']:.4f}, pocketsphinx RTF {peer.metrics()['rtf']:.4f}: "
              f"vowelseg is {ratio:.1f}x faster per audio second")
        summary["pocketsphinx_speed_ratio"] = ratio
    if args.http:
        http = longbench.http_latency(utterances, args.model, long_s=max(args.lengths))
        print(f"HTTP, {http['audio_s']:.1f} s utterance over loopback: cold start (process "
              f"start to first reply) {http['cold_start_s']:.2f} s; warm p50 "
              f"{http['p50_ms']:.0f} ms, p90 {http['p90_ms']:.0f} ms ({http['requests']} requests)")
        print(f"HTTP, the {longbench._dur(http['long_audio_s'])} recording in one request "
              f"({http['long_body_mb']:.0f} MB upload): {http['long_wall_s']:.1f} s to the "
              f"reply ({http['long_words']} words); server peak RSS "
              f"{http['server_peak_rss_mb']:.0f} MB")
        summary["http"] = http
    if args.plot:
        longbench.plot(results, Path(args.plot))
        print(f"plot: {args.plot}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def _bench_load(args: argparse.Namespace) -> int:
    from vowelseg.bench import load as loadbench
    from vowelseg.training.corpus import read_corpus

    utterances = read_corpus(Path(args.corpus))
    results = loadbench.run(utterances, args.model, workers=args.workers,
                            client_counts=args.clients, seconds=args.seconds)
    print(f"vowelseg serve --workers {args.workers} on loopback (limits from VOWELSEG_* "
          f"variables or defaults); each request: a 5.0 s timit-dev recording, JSON reply")
    print(loadbench.format_runs(results))
    last = results[-1]
    print(f"after the SIGKILL: {last['after_kill']} (status: count, -1 = connection error) "
          f"for requests sent after it; workers running at the end: {last['workers_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _synth_corpus(args: argparse.Namespace) -> int:
    from vowelseg.training.corpus import write_corpus
    from vowelseg.training.recipe import labelled_corpus

    n = write_corpus(Path(args.out), labelled_corpus(args.utterances, args.seed))
    print(f"wrote {n} utterances to {args.out} (TIMIT format: manifest.tsv, .wav, .phn, .wrd)",
          file=sys.stderr)
    return 0


def _bench_robust(args: argparse.Namespace) -> int:
    from vowelseg.align.graph import TOLERANT
    from vowelseg.bench import metrics as bench
    from vowelseg.bench import robust
    from vowelseg.pipeline import load_resources
    from vowelseg.training.corpus import read_corpus

    utterances = read_corpus(Path(args.corpus))[: args.limit or None]
    resources = load_resources(args.model)
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    mismatch = dataclasses.replace(
        TOLERANT, **{k: v for k, v in (("skip_logp", args.skip_logp),
                                        ("garbage_entry_logp", args.filler_entry_logp),
                                        ("garbage_frame_logp", args.filler_frame_logp))
                     if v is not None})
    recipe = bench.heldout_recipe(resources.model, args.model, utterances)
    if recipe:
        prior_path, config, _ = recipe
        results = robust.run_heldout(utterances, prior_path, config, only=args.only,
                                     progress=say, mismatch=mismatch)
    else:
        results = robust.run(utterances, resources, only=args.only, progress=say,
                             mismatch=mismatch)
    print(f"corpus: {args.corpus} ({len(utterances)} utterances); model: {_shown(args.model)}"
          + (" fitted on the other speakers for each speaker in turn (speaker-held-out)"
             if recipe else "") + "; every condition applied to every utterance (seeded)")
    print(robust.format_table(results))
    print("Δ = change from clean, points; flagged = altered words the reply marked; "
          "in pad = phones placed in the added silence/noise")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {k: {**v.tally.metrics(), "altered": v.altered, "flagged": v.flagged,
                 "phones_in_padding": v.phones_in_padding} for k, v in results.items()},
            indent=2) + "\n")
    return 0


def _warp_factor(text: str) -> float:
    """A mel-filter warp factor for ``--vtlp-warps``: a number in 0.7-1.3."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.7 <= value <= 1.3:
        raise argparse.ArgumentTypeError(f"{text!r} is not a warp factor in 0.7-1.3 "
                                         "(e.g. 0.9 or 1.1)")
    return value


def _adapt(args: argparse.Namespace) -> int:
    from vowelseg.features.vtln import DEFAULT_WARPS
    from vowelseg.hmm.model import load_model, save_model
    from vowelseg.text.g2p import load_lexicon
    from vowelseg.training.corpus import read_corpus, speaker_of
    from vowelseg.training.recipe import AdaptConfig, fit_to_corpus

    prior = load_model(args.prior)
    utterances = read_corpus(Path(args.corpus))
    config = AdaptConfig(method=args.method, n_mix=args.mix, speeds=tuple(args.speeds),
                         noise=tuple(args.noise), noise_snr_db=tuple(args.noise_snr_db),
                         vtlp_warps=tuple(args.vtlp_warps),
                         vtln_warps=DEFAULT_WARPS if args.vtln else (),
                         normalisation=args.normalisation,
                         min_duration_percentile=args.min_duration_percentile)
    print(f"fitting {_shown(args.prior)} to {len(utterances)} utterances of {args.corpus} "
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
        "adapt_recipe": f"vowelseg adapt --prior {_shown(args.prior)} --corpus {args.corpus} "
                        f"--out {_shown(args.out)} --method {args.method} --mix {args.mix} "
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
    save_model(dataclasses.replace(model, card=card), Path(args.out))
    print(f"wrote {args.out}.npz and {args.out}.json", file=sys.stderr)
    return 0


def _record_in_card(args: argparse.Namespace, n_utterances: int, metrics: dict,
                    heldout: bool) -> None:
    """Store the figures in the model's JSON card, with the command that made them."""
    import datetime
    import platform

    path = Path(args.model).with_suffix(".json")
    meta = json.loads(path.read_text())
    command = f"vowelseg bench --model {_shown(args.model)} --corpus {args.corpus}"
    meta["card"].setdefault("benchmarks", {})[Path(args.corpus).name] = {
        "command": command + (f" --limit {args.limit}" if args.limit else ""),
        "utterances": n_utterances,
        "speaker_held_out": heldout,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "metrics": {k: round(v, 4) for k, v in metrics.items()},
    }
    path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"recorded in {path}")


def _benchmark(sub: argparse._SubParsersAction, name: str, help_text: str,
               func: object) -> argparse.ArgumentParser:
    """A benchmark sub-command with the options all of them share."""
    p = sub.add_parser(name, help=help_text)
    p.add_argument("--corpus", default="../shared/data/timit-dev")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--json", help="also write the figures as JSON here")
    p.set_defaults(func=func)
    return p


VITERBI_HELP = ("place boundaries at the Viterbi path's frame edges instead of at their "
                "posterior mean (the boundary offsets stay those the model learned with the "
                "posterior)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="vowelseg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("segment", help="align one recording and write vowel intervals/audio")
    p.add_argument("audio", help="WAV, FLAC, OGG or MP3 file")
    p.add_argument("transcript", help="the words spoken")
    p.add_argument("--json", help="write the JSON reply here (default: print it)")
    p.add_argument("--textgrid", help="write a Praat TextGrid here")
    p.add_argument("--wav", help="write vowel-only audio here")
    p.add_argument("--png", help="write a picture here: waveform and spectrogram, vowels "
                                 "shaded, words underneath")
    p.add_argument("--mode", choices=("concat", "mask"), default="concat")
    p.add_argument("--fade-ms", type=float, default=5.0)
    p.add_argument("--vad", type=int, choices=range(4), default=3, help="VAD aggressiveness")
    p.add_argument("--approximate", action="store_true",
                   help="the transcript may miss or add words (reported, not forced in)")
    p.add_argument("--no-vtln", action="store_true",
                   help="do not warp the voice to the model (vocal-tract-length normalisation)")
    p.add_argument("--viterbi-boundaries", action="store_true", help=VITERBI_HELP)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.set_defaults(func=_segment)

    p = sub.add_parser("batch", help="align a corpus folder (audio + .txt/.lab beside it) "
                       "to JSON and TextGrid files; resumable")
    p.add_argument("corpus", help="folder of audio files with transcripts beside them "
                                  "(speaker sub-folders allowed)")
    p.add_argument("out", help="output folder (same sub-folders)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local processes (default: all cores)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on a Dask distributed scheduler instead, e.g. tcp://host:8786")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.set_defaults(func=_batch)

    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (each loads the model, ~0.4 GB); a worker that "
                        "dies is replaced. Limits: VOWELSEG_* environment variables")
    p.set_defaults(func=_serve)

    p = sub.add_parser("train", help="rebuild the acoustic model from synthetic speech")
    p.add_argument("--out", type=Path, default=SYNTHETIC_MODEL)
    p.add_argument("--utterances", type=int, default=1200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mix", type=int, default=4, help="Gaussians per state")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=_train)

    p = sub.add_parser("synth-corpus", help="write exactly-labelled synthetic speech "
                       "(espeak-ng + MBROLA) as a TIMIT-format corpus, words timed too")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--utterances", type=int, default=80)
    p.add_argument("--seed", type=int, default=1, help="the training recipe uses 0")
    p.set_defaults(func=_synth_corpus)

    p = sub.add_parser("adapt", help="adapt a model to hand-labelled speech (TIMIT format)")
    p.add_argument("--prior", type=Path, default=SYNTHETIC_MODEL)
    p.add_argument("--corpus", default="../shared/data/timit-dev")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL)
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
    p.add_argument("--vtlp-warps", type=_warp_factor, nargs="+", default=[], metavar="W",
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
    p.set_defaults(func=_adapt)

    p = _benchmark(sub, "bench", "accuracy and speed on a TIMIT-format folder", _bench)
    p.add_argument("--limit", type=int, default=0, help="first N utterances only")
    p.add_argument("--vad", type=int, choices=range(4), default=3)
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
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--update-card", action="store_true",
                   help="store the figures in the model's card (models/NAME.json)")

    p = _benchmark(sub, "bench-long", "time, memory and drift on long recordings "
                   "(TIMIT-format utterances concatenated)", _bench_long)
    p.add_argument("--lengths", type=float, nargs="+", default=[10, 60, 600, 3600],
                   help="recording lengths, seconds")
    p.add_argument("--peer", choices=("pocketsphinx", "none"), default="pocketsphinx")
    p.add_argument("--no-http", dest="http", action="store_false",
                   help="skip the HTTP latency and cold-start measurement")
    p.add_argument("--plot", default="bench-long.png", help="PNG of time and memory vs length")

    p = _benchmark(sub, "bench-robust", "accuracy under transcript mismatch, noise, babble, "
                   "telephone and studio rates, long silence/noise", _bench_robust)
    p.add_argument("--limit", type=int, default=0, help="first N utterances only")
    p.add_argument("--only", nargs="+", help="condition names to run (default: all)")
    for flag, what in (("--skip-logp", "leaving out a transcript word"),
                       ("--filler-entry-logp", "entering the untranscribed-speech filler"),
                       ("--filler-frame-logp", "each frame in the filler")):
        p.add_argument(flag, type=float, help=f"log-probability of {what} in the transcript "
                       "conditions (default: what transcript_match=approximate uses)")

    p = _benchmark(sub, "bench-load", "concurrent clients against a multi-worker server "
                   "(latency, throughput, 503s, memory, a worker killed)", _bench_load)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    p.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``vowelseg`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VowelsegError as exc:
        print(f"vowelseg: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
