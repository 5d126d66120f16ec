"""The command line writes the same results as the API."""

from __future__ import annotations

import json
import subprocess
import sys

import soundfile as sf

from tests.conftest import ROOT, wav_bytes


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


def test_bench_train_speakers_is_checked_before_any_work(timit):
    def bench(*extra):
        return subprocess.run([sys.executable, "-m", "vowelseg.cli", "bench", "--corpus",
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
