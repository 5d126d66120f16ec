"""The benchmark commands (``vowelseg-lab bench``, ``bench-long``, ``bench-robust``,
``bench-load``): each takes the parsed arguments of :mod:`vowelseg_lab.cli`, runs,
prints its figures and returns an exit code."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

from vowelseg.hmm.model import shown_path
from vowelseg.options import Options


def bench(args: argparse.Namespace) -> int:
    from vowelseg.pipeline import load_resources, segment

    from vowelseg_lab.bench import metrics as bench
    from vowelseg_lab.training.corpus import read_corpus

    utterances = read_corpus(Path(args.corpus))[: args.limit or None]
    resources = load_resources(args.model)
    scale = args.posterior_scale  # 0 or less: the Viterbi path's frame edges
    options = Options(vad_aggressiveness=args.vad,
                      **({} if scale is None else {"posterior_scale": scale} if scale > 0
                         else {"boundaries": "viterbi"}))
    recipe = bench.heldout_recipe(resources.model, args.model, utterances)
    if args.as_fitted:
        if args.update_card or args.train_speakers is not None:
            print("vowelseg-lab bench: --as-fitted scores the model on speakers it may have been "
                  "fitted on: not with --update-card or --train-speakers", file=sys.stderr)
            return 2
        if recipe:
            print(f"scoring the model as fitted on {recipe[2]} speakers of this corpus: how "
                  "well it fits its own training data, not an estimate for new voices")
        recipe = None
    if args.train_speakers is not None:
        problem = _train_speakers_problem(args, recipe, utterances)
        if problem:
            print(f"vowelseg-lab bench: {problem}", file=sys.stderr)
            return 2
    say = (lambda s: print(s, file=sys.stderr)) if args.verbose else None
    segment(utterances[0].wav, utterances[0].text, resources, options)  # JIT warm-up
    if recipe:
        prior_path, config, n_seen = recipe
        trained = (f"{args.train_speakers} of the other speakers" if args.train_speakers
                   else "the other speakers")
        print(f"the model was adapted on {n_seen} speakers of this corpus: scoring "
              f"speaker-held-out (prior adapted on {trained}, each speaker in turn)")
        from vowelseg_lab.training.boundary_model import enough_speakers

        if (resources.boundaries is not None and options.correct_boundaries
                and enough_speakers(utterances)):
            return _bench_boundary_model(args, utterances, resources, options, recipe, say)
        tally = bench.run_heldout(utterances, prior_path, options, config, progress=say,
                                  train_speakers=args.train_speakers)
    else:
        tally = bench.run(utterances, lambda u: segment(u.wav, u.text, resources, options), say)
    metrics = tally.metrics()
    rows = {"vowelseg": metrics}
    if args.peer == "pocketsphinx":
        rows["pocketsphinx"] = _pocketsphinx_figures(utterances, resources, say)
    print(f"corpus: {args.corpus} ({tally.utterances} utterances, {tally.audio_s:.1f} s of "
          f"audio); model: {shown_path(args.model)}")
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


def _pocketsphinx_figures(utterances: list, resources: object, say: object) -> dict:
    """The peer aligner on the same utterances: its figures (failures printed)."""
    from vowelseg_lab.bench import metrics as bench
    from vowelseg_lab.bench.peers import pocketsphinx_decoder, pocketsphinx_segment

    decoder = pocketsphinx_decoder()
    peer = bench.run(utterances, lambda u: pocketsphinx_segment(
        decoder, u.wav, u.text, resources.lexicon), say)
    for utt_id, why in peer.failures:
        print(f"pocketsphinx FAILED {utt_id}: {why}")
    return peer.metrics()


def _bench_boundary_model(args: argparse.Namespace, utterances: list, resources: object,
                          options: Options, recipe: tuple, say: object) -> int:
    """Speaker-held-out figures of a model with a boundary model: each speaker
    aligned by the prior fitted on the others, then corrected and calibrated by a
    boundary model fitted on the others' held-out alignments; beside them the same
    alignments without the boundary model (today's replies)."""
    import time

    from vowelseg_lab.bench import metrics as bench
    from vowelseg_lab.training import boundary_model
    from vowelseg_lab.training.corpus import speaker_of

    prior_path, config, _ = recipe
    print("boundary model: fitted, for each speaker, on the other speakers' held-out "
          "alignments and applied to that speaker's")
    failures: list = []
    examples = boundary_model.heldout_examples(utterances, prior_path, config, say=say,
                                               options=options,
                                               train_speakers=args.train_speakers,
                                               failures=failures)
    t0 = time.perf_counter()
    corrected, calibration = boundary_model.cross_validate(examples, say)
    fit_s = time.perf_counter() - t0
    by_id = {u.utt_id: u for u in utterances}
    rows = {}
    for name, replies in (("without boundary model", {e.utt_id: e.seg for e in examples}),
                          ("vowelseg", corrected)):
        tally = bench.Tally()
        for e in examples:
            tally.add(by_id[e.utt_id], replies[e.utt_id])
        for utt_id, why in failures:
            tally.add(by_id[utt_id], None)
            tally.failures.append((utt_id, why))
        tally.wall_s = sum(e.wall_s for e in examples)
        rows[name] = tally.metrics()
    if args.peer == "pocketsphinx":
        rows["pocketsphinx"] = _pocketsphinx_figures(utterances, resources, say)
    print(f"corpus: {args.corpus} ({len(utterances)} utterances); model: "
          f"{shown_path(args.model)}")
    print(bench.format_table(rows))
    if "pocketsphinx" in rows:
        ratio = rows["pocketsphinx"]["rtf"] / max(1e-9, rows["vowelseg"]["rtf"])
        print(f"speed: vowelseg is {ratio:.1f}x faster per audio second than pocketsphinx "
              "(same utterances; vowelseg's time is the held-out rounds' aligning)")
    print("\nconfidence = probability that both boundaries are within 20 ms of the "
          "labeller's (ECE: expected calibration error, 10 bins; coverage: share kept, most "
          "confident first, while 90 % of what is kept is right)")
    print(f"{'':<8} {'':<24} {'n':>6} {'right':>7} {'ECE':>7} {'AUROC':>7} {'coverage@90':>12}")
    for kind in ("phones", "vowels", "words"):
        for when, label in (("before", "today's confidence"), ("after", "calibrated")):
            f = calibration[f"{kind}_{when}"]
            print(f"{kind:<8} {label:<24} {f['n']:>6} {f['right']:>7.3f} {f['ece']:>7.3f} "
                  f"{f['auroc']:>7.3f} {f['coverage_at_90']:>12.3f}")
    models = len({speaker_of(u) for u in utterances})  # one per speaker left out
    print(f"fitting and applying the {models} boundary models took {fit_s:.1f} s")
    for utt_id, why in failures:
        print(f"FAILED {utt_id}: {why}")
    if args.json:
        Path(args.json).write_text(json.dumps({**rows["vowelseg"], "calibration": calibration,
                                               "without_boundary_model":
                                                   rows["without boundary model"]},
                                              indent=2) + "\n")
    if args.update_card:
        _record_in_card(args, len(utterances), {**rows["vowelseg"], "calibration": calibration},
                        heldout=True)
    return 0


def _train_speakers_problem(args: argparse.Namespace, recipe: object,
                            utterances: list) -> str | None:
    """What is wrong with ``--train-speakers`` here, if anything."""
    from vowelseg_lab.bench import metrics as bench
    from vowelseg_lab.training.corpus import speaker_of

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


def bench_long(args: argparse.Namespace) -> int:
    from vowelseg.pipeline import load_resources, segment

    from vowelseg_lab.bench import long as longbench
    from vowelseg_lab.bench import metrics as bench
    from vowelseg_lab.training.corpus import read_corpus

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
    results = longbench.run(Path(args.corpus), args.model, args.lengths, per_utt, say,
                            measures=args.measures)
    print(f"corpus: {args.corpus}; model: {shown_path(args.model)} (each length aligned in its own "
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
        from vowelseg_lab.bench.peers import pocketsphinx_decoder, pocketsphinx_segment

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


def bench_load(args: argparse.Namespace) -> int:
    from vowelseg_lab.bench import load as loadbench
    from vowelseg_lab.training.corpus import read_corpus

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


def bench_robust(args: argparse.Namespace) -> int:
    from vowelseg.align.graph import TOLERANT
    from vowelseg.pipeline import load_resources

    from vowelseg_lab.bench import metrics as bench
    from vowelseg_lab.bench import robust
    from vowelseg_lab.training.corpus import read_corpus

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
    print(f"corpus: {args.corpus} ({len(utterances)} utterances); model: {shown_path(args.model)}"
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


def _rounded(figures: dict) -> dict:
    return {k: _rounded(v) if isinstance(v, dict) else round(v, 4) for k, v in figures.items()}


def _record_in_card(args: argparse.Namespace, n_utterances: int, metrics: dict,
                    heldout: bool) -> None:
    """Store the figures in the model's JSON card, with the command that made them."""
    import datetime
    import platform

    path = Path(args.model).with_suffix(".json")
    meta = json.loads(path.read_text())
    command = f"vowelseg-lab bench --model {shown_path(args.model)} --corpus {args.corpus}"
    meta["card"].setdefault("benchmarks", {})[Path(args.corpus).name] = {
        "command": command + (f" --limit {args.limit}" if args.limit else ""),
        "utterances": n_utterances,
        "speaker_held_out": heldout,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "metrics": _rounded(metrics),
    }
    path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"recorded in {path}")


def bench_input(args: argparse.Namespace) -> int:
    from vowelseg.pipeline import load_resources

    from vowelseg_lab.bench import input as bad_input
    from vowelseg_lab.bench import metrics as bench
    from vowelseg_lab.training.corpus import read_corpus

    utterances = read_corpus(Path(args.corpus))[: args.limit or None]
    resources = load_resources(args.model)
    recipe = None if args.as_fitted else bench.heldout_recipe(resources.model, args.model,
                                                               utterances)

    def mismatch() -> dict[str, list[bool]]:
        if recipe is None:
            return bad_input.mismatch_rates(utterances, utterances, resources)
        prior_path, config, _ = recipe
        print("(transcript checks speaker-held-out: each speaker aligned by the recipe's "
              "model fitted on the others; about 12 minutes)", flush=True)
        merged: dict[str, list[bool]] = {}
        for _, rates in bench.heldout_rounds(utterances, prior_path, config,
                                             bad_input.mismatch_rates):
            for kind, flags in rates.items():
                merged.setdefault(kind, []).extend(flags)
        return merged

    print(f"corpus: {args.corpus} ({len(utterances)} utterances); model: "
          f"{shown_path(args.model)}", flush=True)
    figures = bad_input.run(utterances, resources, mismatch,
                            say=lambda s: print(s, flush=True))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def bench_formants(args: argparse.Namespace) -> int:
    from vowelseg.pipeline import load_resources, segment

    from vowelseg_lab.bench import formants
    from vowelseg_lab.training.corpus import read_corpus

    if args.peer == "new-fave":
        if not args.heuristics:
            raise SystemExit("--no-heuristics is FastTrack's: new-fave always runs them")
        if not args.fave_extract:
            raise SystemExit("--peer new-fave needs --fave-extract: the path of new-fave's "
                             "fave-extract (install new-fave in its own environment: it pins "
                             "numpy below 2.3)")
        fave_extract = shutil.which(args.fave_extract) or args.fave_extract
        if not Path(fave_extract).is_file():
            raise SystemExit(f"no such program: {args.fave_extract}")
        peer, name = formants.new_fave(Path(fave_extract)), "new-fave"
        how = "new-fave's fave-extract, one folder per speaker"
    else:
        import fasttrackpy  # noqa: F401 (a missing extra is one line from the CLI)

        peer, name = formants.fasttrack(args.heuristics), "FastTrack"
        how = f"FastTrack ({'with' if args.heuristics else 'without'} its heuristics)"
    utterances = read_corpus(Path(args.corpus))[: args.limit or None]
    resources = load_resources(args.model)
    options = Options(measures=True)
    print(f"corpus: {args.corpus} ({len(utterances)} utterances); model: "
          f"{shown_path(args.model)}; vowels of {1000 * formants.MIN_TOKEN_S:.0f} ms or more, "
          f"aligned and measured by vowelseg, then measured by {how} on the same intervals",
          flush=True)
    tokens = formants.compare(utterances, lambda u: segment(u.wav, u.text, resources, options),
                              peer, say=lambda s: print(s, file=sys.stderr, flush=True))
    print(formants.report(tokens, name))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"peer": name, "all": formants.agreement(tokens),
             "tokens": [dataclasses.asdict(t) for t in tokens]}, indent=1) + "\n")
    return 0
