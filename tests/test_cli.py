"""The command line writes the same results as the API."""

from __future__ import annotations

import json
import subprocess
import sys

import soundfile as sf

from tests.conftest import ROOT, needs_train, wav_bytes


def test_segment_writes_json_textgrid_and_wav(synthetic, tmp_path):
    text, speech = synthetic[2]
    wav = tmp_path / "in.wav"
    wav.write_bytes(wav_bytes(speech.samples, speech.sample_rate))
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "vowelseg.cli", "segment", str(wav), text, "--json", f"{out}.json",
         "--textgrid", f"{out}.TextGrid", "--wav", f"{out}.wav", "--mode", "mask"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads((tmp_path / "out.json").read_text())
    assert [w["word"] for w in body["words"]] == "it is easy to tell the depth of a well".split()
    assert 'name = "vowels"' in (tmp_path / "out.TextGrid").read_text()
    info = sf.info(str(tmp_path / "out.wav"))
    assert info.frames == len(speech.samples) and info.samplerate == speech.sample_rate


def test_bad_input_exits_2_with_a_message(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio" * 50)
    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", str(junk), "hello"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "could not decode the audio" in done.stderr


@needs_train
def test_bench_train_speakers_is_checked_before_any_work(timit):
    def bench(*extra):
        return subprocess.run([sys.executable, "-m", "vowelseg_lab", "bench", "--corpus",
                               str(timit),
                               *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)
    done = bench("--train-speakers", "8")
    assert done.returncode == 2 and "1 to 7 speakers" in done.stderr, done.stderr
    done = bench("--train-speakers", "3", "--update-card")
    assert done.returncode == 2 and "drop --update-card" in done.stderr
    done = bench("--train-speakers", "3", "--model", "models/vowelseg-en-synthetic")
    assert done.returncode == 2 and "saw none of them" in done.stderr
    done = bench("--as-fitted", "--update-card")
    assert done.returncode == 2 and "not with --update-card" in done.stderr


def test_several_recordings_with_transcripts_beside_or_given(timit, tmp_path):
    """``segment a.wav b.wav --out-dir`` reads a.txt/b.txt beside them (or
    --transcript-file, in order), keeps going past a bad file, and exits 1."""
    speaker = timit / "dr1-fvmh0"
    junk, junk_text = tmp_path / "junk.wav", tmp_path / "junk.txt"
    junk.write_bytes(b"not audio" * 50)
    junk_text.write_text("hello")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", *map(str, args)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)

    out = tmp_path / "out"
    done = cli(speaker / "sa1.wav", junk, speaker / "sa2.wav", "--out-dir", out,
               "--formats", "json", "csv")
    assert done.returncode == 1
    assert "FAILED" in done.stderr and "junk.wav: could not decode" in done.stderr
    assert "1 of 3 recordings failed" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["sa1.csv", "sa1.json", "sa2.csv",
                                                     "sa2.json"]
    sa2 = json.loads((out / "sa2.json").read_text())
    assert [w["word"] for w in sa2["words"]][:3] == ["don't", "ask", "me"]
    assert sa2["vowels"][0]["measures"]["f1_hz"] > 0  # csv asked for: measured
    # the same with the transcripts named, in order; one per recording
    given = cli(speaker / "sa2.wav", speaker / "sa1.wav", "--transcript-file",
                speaker / "sa2.txt", speaker / "sa1.txt", "--out-dir", tmp_path / "given")
    assert given.returncode == 0, given.stderr
    assert (json.loads((tmp_path / "given" / "sa2.json").read_text())["words"]
            == sa2["words"])
    assert (tmp_path / "given" / "sa1.TextGrid").exists()
    # what does not pair up is refused before any work, with a reason
    untranscribed = tmp_path / "x.wav"
    untranscribed.write_bytes(junk.read_bytes())
    refused = {
        "no such file: nope.wav": cli(speaker / "sa1.wav", "nope.wav"),
        "one per recording": cli(speaker / "sa1.wav", speaker / "sa2.wav",
                                 "--transcript-file", speaker / "sa1.txt", "--out-dir", out),
        "need --out-dir": cli(speaker / "sa1.wav", speaker / "sa2.wav"),
        "no transcript for": cli(untranscribed, speaker / "sa1.wav", "--out-dir", out),
    }
    for reason, done in refused.items():
        assert done.returncode == 2 and reason in done.stderr, (reason, done.stderr)


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    from vowelseg.cli import build_parser
    from vowelseg_lab.cli import build_parser as build_lab_parser

    choices = {}
    for parser in (build_parser(), build_lab_parser()):
        choices.update(next(a for a in parser._actions
                            if isinstance(a, argparse._SubParsersAction)).choices)
    silent = [f"{name} {a.option_strings[0]}" for name, sub in choices.items()
              for a in sub._actions if a.option_strings and not a.help]
    assert silent == [], silent
    shown = choices["train"].format_help()
    assert "(default: 0)" in shown and "(default: 1200)" in shown  # falsy defaults too
