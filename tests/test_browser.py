"""The page at ``/`` in a real browser: Debian's chromium, driven by npm playwright-core.

``.ci/run`` installs both; elsewhere the test skips when they are missing (in CI,
``CI=true``, it fails instead, so it cannot silently not run).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess

import pytest
import soundfile as sf
from praatio import textgrid
from vowelseg.bench.server import start_server, stop_server
from vowelseg.hmm.model import DEFAULT_MODEL

from tests.conftest import ROOT

BROWSER_DIR = ROOT / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing() -> str | None:
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.exists(CHROMIUM):
        return f"no chromium at {CHROMIUM}"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
        return "run: npm install --prefix tests/browser"
    return None


@pytest.fixture(scope="module")
def server():
    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start_server(port, 1, DEFAULT_MODEL)
    yield f"http://127.0.0.1:{port}/"
    stop_server(proc)


@pytest.mark.slow
def test_page_uploads_draws_plays_and_downloads(server, client, timit, tmp_path):
    wav = timit / "dr1-fvmh0" / "sa1.wav"
    text = "She had your dark suit in greasy wash water all year."
    run = subprocess.run(["node", str(BROWSER_DIR / "page_test.mjs"), server, str(wav), text,
                          str(tmp_path)], capture_output=True, text=True, timeout=180,
                         env={**os.environ, "CHROMIUM": CHROMIUM})
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    body = client.post("/segment", files={"audio": ("x.wav", wav.read_bytes(), "audio/wav")},
                       data={"transcript": text, "measures": "true"}).json()
    assert not seen["errors"]
    # one drawn box per vowel of the reply, in time order, each visible
    assert len(seen["drawn"]) == len(body["vowels"]) > 5
    lefts = [b["left"] for b in seen["drawn"]]
    assert lefts == sorted(lefts) and all(b["width"] > 1 for b in seen["drawn"])
    assert seen["image"] == 1200
    # both players hold audio: the original's length, and the vowels' summed length
    assert abs(seen["durations"]["original"] - body["duration"]) < 0.05
    vowel_s = sum(v["end"] - v["start"] for v in body["vowels"])
    assert 0.5 * vowel_s < seen["durations"]["vowels"] < 2 * vowel_s
    assert seen["played"] is True
    # downloads: the same JSON, a TextGrid with the vowels, a WAV, a PNG
    saved = seen["saved"]
    assert json.loads(open(saved["dl-json"]).read()) == body
    grid = textgrid.openTextgrid(saved["dl-textgrid"], includeEmptyIntervals=False)
    assert len(grid.getTier("vowels").entries) == len(body["vowels"])
    assert sf.info(saved["dl-wav"]).duration == pytest.approx(seen["durations"]["vowels"],
                                                               abs=0.01)
    assert open(saved["dl-png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # the vowel chart, drawn from the same reply: one dot per measured vowel and
    # a label per vowel class; the CSV and the server's chart only when asked for
    measured = [v for v in body["vowels"] if v["measures"]["f1_hz"] and v["measures"]["f2_hz"]]
    assert not seen["chart"]["hidden"] and seen["chart"]["tokens"] == len(measured) > 5
    assert sorted(seen["chart"]["labels"]) == sorted({v["phone"].rstrip("012")
                                                       for v in measured})
    assert seen["postsPerAlign"][0] == "application/json"
    assert "text/csv" not in seen["postsPerAlign"]
    assert seen["posts"].count("text/csv") == 1
    assert seen["posts"].count("image/png") == seen["postsPerAlign"].count("image/png") + 1
    with open(saved["dl-csv"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(body["vowels"])
    assert [float(r["f1_hz"]) for r in rows if r["f1_hz"]] == [
        v["measures"]["f1_hz"] for v in body["vowels"] if v["measures"]["f1_hz"]]
    assert open(saved["dl-chart"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
