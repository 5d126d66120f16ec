"""The README cannot drift: every ``sh`` and ``python`` example in it runs as
written, in a folder holding ``speech.wav`` (timit-dev's SA1), against a live
server on localhost:8000, and what each writes is checked; its generated tables
are current; it stays short.

``bash`` blocks are the commands that are not examples (set-up, tests, Docker,
benchmarks, recipes): they may hold only those, so no example hides there.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from praatio import textgrid
from vowelseg.hmm.model import DEFAULT_MODEL
from vowelseg.reply import Reply
from vowelseg.warning_codes import WARNING_CODES
from vowelseg_lab.bench.server import start_server, stop_server

from tests.conftest import ROOT, docs_tables

README = ROOT / "README.md"
SA1 = "she had your dark suit in greasy wash water all year".split()
#: What a ``bash`` block may run: set-up, tests, the image, benchmarks and recipes.
NOT_EXAMPLES = re.compile(r"(pip install -e \.|bash \.ci/run|docker (build|run)|"
                          r"python -m pytest tests/|vowelseg-lab (bench|train|adapt|fit-boundaries)"
                          r"[ -])")
PORT = 8000  # the examples' own address


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```$", README.read_text(), flags=re.M | re.S)


def commands(block: str) -> list[str]:
    """A shell block's commands, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line for line in joined.splitlines() if line.strip() and
            not line.lstrip().startswith("#")]


def test_readme_is_short_and_its_tables_are_generated():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    assert docs_tables().rewrite(text) == text, "run: python docs/tables.py README.md"
    assert text.count("<!-- generated:") == 3
    for block in blocks("bash"):
        for command in commands(block):
            assert NOT_EXAMPLES.match(command.split("&&")[0].strip()), command


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def server():
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", PORT)) == 0:
            pytest.fail(f"port {PORT} is taken; the README's examples need it for the server")
    proc = start_server(PORT, 1, DEFAULT_MODEL)
    yield
    stop_server(proc)


@pytest.mark.slow
def test_every_example_runs_as_written(server, timit, tmp_path):
    wav = timit / "dr1-fvmh0" / "sa1.wav"
    shutil.copy(wav, tmp_path / "speech.wav")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    shell, python = blocks("sh"), blocks("python")
    assert len(shell) == 2 and len(python) == 1
    for block in shell:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (block, done.stderr[-3000:])
        assert "curl:" not in done.stderr, done.stderr
    out = {name: tmp_path / name for name in os.listdir(tmp_path)}

    # HTTP: the JSON replies match the schema and the words
    reply = Reply.model_validate_json(out["speech.json"].read_text())
    assert [w.word for w in reply.words] == SA1 and not reply.warnings
    n_vowels = len(reply.vowels)
    assert n_vowels >= 10 and all(v.measures is None for v in reply.vowels)
    measured = Reply.model_validate_json(out["measured.json"].read_text())
    assert all((v.measures.f1_hz is None) == bool(v.measures.reason) for v in measured.vowels)
    assert sum(v.measures.f1_hz is not None for v in measured.vowels) >= 10
    info = sf.info(str(out["vowels.wav"]))  # mask: the recording's length
    assert info.frames == sf.info(str(wav)).frames and info.samplerate == 16000
    grid = textgrid.openTextgrid(str(out["speech.TextGrid"]), includeEmptyIntervals=False)
    assert {"words", "phones", "vowels", "confidence"} <= set(grid.tierNames)
    assert len(grid.getTier("vowels").entries) == n_vowels
    assert is_png(out["speech.png"]) and is_png(out["chart.png"])
    table = rows(out["vowels.csv"])
    assert len(table) == n_vowels
    assert [float(r["f1_hz"]) for r in table if r["f1_hz"]] == pytest.approx(
        [v.measures.f1_hz for v in measured.vowels if v.measures.f1_hz], rel=1e-6)
    assert len(rows(out["measured.csv"])) == n_vowels  # /measure on the TextGrid

    # the command line
    assert len(rows(out["cli.csv"])) == n_vowels and is_png(out["cli-chart.png"])
    grid = textgrid.openTextgrid(str(out["cli.TextGrid"]), includeEmptyIntervals=False)
    assert len(grid.getTier("vowels").entries) == n_vowels
    approximate = Reply.model_validate_json(out["cli.json"].read_text())
    assert [w.word for w in approximate.words] == SA1 and all(w.found
                                                             for w in approximate.words)
    assert all(w.code in WARNING_CODES for r in (reply, measured, approximate)
               for w in r.warnings)
    assert len(rows(out["cli-measured.csv"])) == n_vowels
    assert sorted(os.listdir(out["aligned"])) == sorted(
        f"{stem}.{ext}" for stem in ("speech", "second") for ext in ("json", "TextGrid", "csv"))
    twice = [json.loads((out["aligned"] / f"{s}.json").read_text()) for s in ("speech",
                                                                              "second")]
    assert twice[0]["vowels"] == twice[1]["vowels"]
    assert ([{k: v for k, v in vowel.items() if k != "measures"} for vowel in twice[0]["vowels"]]
            == json.loads(out["speech.json"].read_text())["vowels"])
    corpus = rows(out["corpus-aligned"] / "vowels.csv")
    assert len(corpus) == n_vowels and {r["speaker"] for r in corpus} == {"speaker1"}
    assert (out["corpus-aligned"] / "speaker1" / "speech.TextGrid").exists()

    # Python: a line per vowel, its phone, times and formants
    done = subprocess.run([sys.executable, "-c", python[0]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == n_vowels
    for line, vowel in zip(lines, measured.vowels, strict=True):
        phone, start, end, p, *formants = line.split()
        assert phone == vowel.phone and float(start) == pytest.approx(vowel.start, abs=1e-3)
        assert float(p[2:]) == pytest.approx(vowel.confidence, abs=0.01)
        if vowel.measures.f1_hz and vowel.measures.f2_hz:
            assert float(formants[0][3:]) == pytest.approx(vowel.measures.f1_hz, abs=1)
