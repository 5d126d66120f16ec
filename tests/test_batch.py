"""``vowelseg batch``: a 200-file corpus, interrupted and resumed, and on Dask (with the
combined table of vowel measurements)."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from vowelseg import batch, segment
from vowelseg.errors import VowelsegError
from vowelseg.options import Options
from vowelseg.render import to_json
from vowelseg_lab.training.corpus import read_corpus

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def corpus(timit, tmp_path_factory) -> Path:
    """200 timit-dev utterances (copies, new names) in speaker folders, MFA-style,
    plus one file without a transcript and one that is not audio."""
    root = tmp_path_factory.mktemp("corpus")
    utterances = read_corpus(timit)
    for i in range(200):
        utt = utterances[i % len(utterances)]
        speaker, name = utt.utt_id.split("/")
        folder = root / speaker
        folder.mkdir(exist_ok=True)
        stem = f"{name}_{i // len(utterances)}"
        shutil.copy(utt.wav, folder / f"{stem}.wav")
        (folder / f"{stem}{'.lab' if i % 2 else '.txt'}").write_text(utt.text + "\n")
    shutil.copy(utterances[0].wav, root / "untranscribed.wav")
    (root / "broken.wav").write_bytes(b"not audio")
    (root / "broken.lab").write_text("hello")
    return root


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.suffix in (".json", ".TextGrid")}


def test_interrupted_batch_resumes_with_the_rest_only(corpus, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vowelseg.cli", "batch", str(corpus), str(out), "--workers", "2",
           "--no-measures"]
    first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(out.rglob("*.json"))) < 20 and time.time() < deadline:
        time.sleep(0.02)
    workers = subprocess.run(["ps", "-o", "pid=", "--ppid", str(first.pid)], capture_output=True,
                             text=True).stdout.split()
    first.send_signal(signal.SIGKILL)  # the batch process dies mid-run, its workers notice
    first.wait()
    deadline = time.time() + 10
    while any(alive(int(w)) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert time.time() < deadline, "pool workers outlived the killed batch process"
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    assert 20 <= len(before) < 200
    seen = []
    summary = batch.run(corpus, out, workers=2, options=Options(measures=False),
                        progress=lambda done, total, failed, start: seen.append(failed))
    assert seen[-1] == len(summary["failed"]) == 2  # the progress line counts as the summary
    assert summary["files"] == 201  # the untranscribed file is not a job
    assert summary["skipped"] >= len(before)  # pairs finished before the kill
    assert summary["skipped"] + summary["aligned"] + 1 == 201  # + broken.wav
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # not redone
    assert len(list(out.rglob("*.json"))) == 200
    assert not list(out.rglob("*.tmp"))
    reasons = dict(summary["failed"])
    assert "could not decode" in reasons[str(corpus / "broken.wav")]
    assert "no .lab or .txt" in reasons[str(corpus / "untranscribed.wav")]
    assert "broken.wav" in (out / "failures.tsv").read_text()


def test_every_file_gets_the_options_and_a_resume_keeps_them(timit, tmp_path):
    utt = read_corpus(timit)[0]
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    shutil.copy(utt.wav, corpus / "a.wav")
    (corpus / "a.txt").write_text(utt.text + "\n")
    viterbi = Options(boundaries="viterbi", vtln=False, measures=False)
    assert batch.run(corpus, out, options=viterbi)["aligned"] == 1
    assert json.loads((out / "a.json").read_text()) == to_json(segment(utt.wav, utt.text,
                                                                        options=viterbi))
    assert not (out / "a.csv").exists()
    with pytest.raises(VowelsegError, match="boundaries 'viterbi' -> 'posterior'"):
        batch.run(corpus, out, options=Options(vtln=False, measures=False))
    assert batch.run(corpus, out, options=viterbi)["skipped"] == 1


@pytest.mark.slow
def test_dask_cluster_gives_the_same_outputs(corpus, tmp_path):
    distributed = pytest.importorskip("distributed")
    local, remote = tmp_path / "local", tmp_path / "dask"
    batch.run(corpus, local, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        summary = batch.run(corpus, remote, dask=client)
    assert summary["aligned"] == 200
    assert outputs(local) == outputs(remote)
    assert len(outputs(local)) == 400
    # every file's vowels measured, and joined in one table with the speaker folder
    for out in (local, remote):
        tables = sorted(out.rglob("*.csv"))
        assert len(tables) == 201 and out / "vowels.csv" in tables
        rows = list(csv.DictReader((out / "vowels.csv").open()))
        per_file = sum(len(list(csv.DictReader(t.open()))) for t in tables
                       if t.name != "vowels.csv")
        assert len(rows) == per_file > 200 * 8
        assert {r["speaker"] for r in rows} == {p.name for p in corpus.iterdir() if p.is_dir()}
        assert sum(bool(r["f1_hz"]) for r in rows) > 0.9 * len(rows)
    assert (local / "vowels.csv").read_text() == (remote / "vowels.csv").read_text()
