"""The page at ``/`` in a real browser: Debian's chromium, driven by npm playwright-core.

``.ci/run`` installs both; elsewhere the tests skip when they are missing (in CI,
``CI=true``, they fail instead, so they cannot silently not run).

One browser session (``tests/browser/page_test.mjs``) aligns three recordings
and reports what the page sent and showed; the tests below hold that against
the API's own replies for the same audio and options.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from praatio import textgrid
from vowelseg.hmm.model import DEFAULT_MODEL
from vowelseg.text.files import read_transcript
from vowelseg_lab.bench.server import free_port, start_server, stop_server

from tests.conftest import ROOT, docs_tables

BROWSER_DIR = ROOT / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

SHORT_TEXT = "She had your dark suit in greasy wash water all year."
#: The same recording's words with "wash" left out and "and more" added: a case
#: for approximate matching, which warns about it.
OPTIONS_TEXT = "She had your dark suit in greasy water all year and more."
#: The options run: every option the page offers changed from its default.
OPTIONS = {"measures": "false", "transcript_match": "approximate", "boundaries": "viterbi",
           "vad_aggressiveness": "2", "vtln": "false", "speech_check": "false"}
#: Speakers whose 20 utterances, back to back, make the long recording (65 s).
LONG_SPEAKERS = ("dr5-ftlg0", "dr6-mbma1")
#: The page's confidence bands, highest first: (lowest confidence, name).
BANDS = ((0.7, "high"), (0.4, "mid"), (0.0, "low"))
FILTER_AT = 0.5  # the threshold page_test.mjs sets on the filter
pytestmark = pytest.mark.slow


def band(confidence: float) -> str:
    return next(name for lowest, name in BANDS if confidence >= lowest)


def missing() -> str | None:
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.exists(CHROMIUM):
        return f"no chromium at {CHROMIUM}"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").exists():
        return "run: npm install --prefix tests/browser"
    return None


def long_recording(timit: Path, path: Path) -> str:
    """Write every utterance of LONG_SPEAKERS back to back to ``path``; return
    the joined transcript."""
    parts, words = [], []
    for speaker in LONG_SPEAKERS:
        for wav in sorted((timit / speaker).glob("*.wav")):
            samples, rate = sf.read(wav, dtype="int16")
            parts.append(samples)
            words.append(read_transcript(wav.with_suffix(".txt")))
    sf.write(path, np.concatenate(parts), rate)
    return " ".join(words)


def segment(client, wav: Path, text: str, **fields: str) -> dict:
    """The API's JSON reply for this audio, transcript and options."""
    reply = client.post("/segment", files={"audio": ("x.wav", wav.read_bytes(), "audio/wav")},
                        data={"transcript": text, **fields})
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.fixture(scope="module")
def server():
    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)
    port = free_port()
    proc = start_server(port, 1, DEFAULT_MODEL)
    yield f"http://127.0.0.1:{port}/"
    stop_server(proc)


@pytest.fixture(scope="module")
def recordings(timit, tmp_path_factory) -> dict:
    """The three recordings the page aligns: {name: {"audio", "transcript"}}."""
    long_wav = tmp_path_factory.mktemp("long") / "long.wav"
    long_text = long_recording(timit, long_wav)
    short = str(timit / "dr1-fvmh0" / "sa1.wav")
    return {"short": {"audio": short, "transcript": SHORT_TEXT},
            "options": {"audio": short, "transcript": OPTIONS_TEXT},
            "long": {"audio": str(long_wav), "transcript": long_text}}


@pytest.fixture(scope="module")
def seen(server, recordings, tmp_path_factory) -> dict:
    """What the page sent and showed (page_test.mjs's report)."""
    out = tmp_path_factory.mktemp("downloads")
    plan = out / "plan.json"
    plan.write_text(json.dumps({**recordings, "outDir": str(out)}))
    run = subprocess.run(["node", str(BROWSER_DIR / "page_test.mjs"), server, str(plan)],
                         capture_output=True, text=True, timeout=240,
                         env={**os.environ, "CHROMIUM": CHROMIUM})
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def replies(client, recordings) -> dict:
    """The API's replies for the page's three alignments."""
    def reply(name: str, **fields: str) -> dict:
        return segment(client, Path(recordings[name]["audio"]), recordings[name]["transcript"],
                       **fields)

    return {"short": reply("short", measures="true"), "options": reply("options", **OPTIONS),
            "long": reply("long")}


def api_defaults(client) -> dict[str, str]:
    """POST /segment's form defaults, as the page sends them (booleans in lower case)."""
    fields = docs_tables().segment_form(client.get("/openapi.json").json())["properties"]
    return {name: str(f["default"]).lower() if isinstance(f["default"], bool) else str(f["default"])
            for name, f in fields.items() if "default" in f}


def assert_placed(picture: dict, vowels: list[dict]) -> None:
    """One box per vowel, in time order, at its start and as long as it lasts."""
    boxes, pps = picture["boxes"], picture["pps"]
    assert [b["i"] for b in boxes] == list(range(len(vowels)))
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)
    for b, v in zip(boxes, vowels, strict=True):
        assert b["x"] == pytest.approx(v["start"] * pps, abs=0.1)
        assert b["w"] == pytest.approx(max(1.0, (v["end"] - v["start"]) * pps), abs=0.1)


def test_one_json_alignment_per_click_with_the_api_defaults(seen, replies, client):
    defaults = api_defaults(client)
    initial = seen["initialFields"]
    assert initial.keys() == {"measures", "transcript_match", "boundaries", "vad_aggressiveness",
                              "vtln", "speech_check", "mode", "fade_ms"}
    for name, value in initial.items():
        if name == "fade_ms":  # a number: "5" in the page, 5.0 in the schema
            assert float(value) == float(defaults[name])
        else:
            assert value == defaults[name], name
    for run in ("short", "options", "long"):
        assert len(seen[run]["posts"]) == 1, run
        assert seen[run]["posts"][0]["output"] == "json"
    # the short run: the defaults with measures on; no vowel-only audio settings
    sent = seen["short"]["posts"][0]
    expected = {k: v for k, v in initial.items() if k not in ("mode", "fade_ms")}
    assert sent == {**expected, "measures": "true", "transcript": SHORT_TEXT, "output": "json"}
    assert len(seen["short"]["picture"]["boxes"]) == len(replies["short"]["vowels"]) > 5
    # the waveform was decoded and drawn: a bar in every column of the recording, and
    # tall ones where the speech is (3.4 s of SA1 across the view: most of it speech)
    picture = seen["short"]["picture"]
    assert picture["waveInked"] >= 0.95 * picture["waveColumns"]
    assert picture["waveTall"] >= 0.2 * picture["waveColumns"]


def test_options_change_the_request_and_the_vowel_audio(seen, replies, recordings):
    run, body = seen["options"], replies["options"]
    assert run["posts"] == [{**OPTIONS, "transcript": OPTIONS_TEXT, "output": "json"}]
    assert_placed(run["picture"], body["vowels"])
    # approximate matching's warning, shown as code: message
    assert body["warnings"] and run["warnings"] == {
        "shown": True, "items": [f"{w['code']}: {w['message']}" for w in body["warnings"]]}
    assert seen["short"]["warnings"] == {"shown": False, "items": []}
    assert not replies["short"]["warnings"]
    assert len(run["measureHeaders"]) == len(seen["short"]["measureHeaders"]) == 3
    assert not any(run["measureHeaders"]) and all(seen["short"]["measureHeaders"])
    # "Play vowels only" fetches the WAV once, with the alignment's options and mask mode
    assert run["playVowels"]["posts"] == [{**OPTIONS, "transcript": OPTIONS_TEXT, "output": "wav",
                                           "mode": "mask", "fade_ms": "10"}]
    assert run["playVowels"]["duration"] == pytest.approx(body["duration"], abs=0.05)
    assert run["originalDuration"] == pytest.approx(body["duration"], abs=0.05)
    assert run["wavDownload"] == []  # the download shares the player's WAV
    # another mode is another WAV: fetched anew, concatenated vowels
    concat = run["concatDownload"]
    assert [p["mode"] for p in concat["posts"]] == ["concat"]
    vowel_s = sum(v["end"] - v["start"] for v in body["vowels"])
    assert 0.5 * vowel_s < sf.info(concat["path"]).duration < 2 * vowel_s


def test_boxes_and_rows_coloured_by_confidence_and_filtered(seen, replies):
    run, body, legend = seen["short"], replies["short"], seen["legend"]
    vowels = body["vowels"]
    assert_placed(run["picture"], vowels)
    bands = [band(v["confidence"]) for v in vowels]
    assert set(bands) == {"high", "mid", "low"}  # this recording has all three
    assert len(set(legend.values())) == 3
    assert [b["band"] for b in run["picture"]["boxes"]] == bands
    assert [b["colour"] for b in run["picture"]["boxes"]] == [legend[b] for b in bands]
    assert [r["cells"][:5] for r in run["rows"]] == [
        [v["phone"], v["word"], f"{v['start']:.3f}", f"{v['end']:.3f}", f"{v['confidence']:.2f}"]
        for v in vowels]
    assert [r["band"] for r in run["rows"]] == bands
    assert [r["colour"] for r in run["rows"]] == [legend[b] for b in bands]
    # the filter hides exactly the vowels below it, boxes and rows, and says how many
    below = [i for i, v in enumerate(vowels) if v["confidence"] < FILTER_AT]
    assert 0 < len(below) < len(vowels)
    assert run["filtered"]["boxes"] == run["filtered"]["rows"] == below
    assert run["filtered"]["hiddenCount"].startswith(f"{len(below)} of {len(vowels)} vowels hidden")
    assert run["unfilteredCount"] == f"all {len(vowels)} vowels shown"
    # a click on a box plays that span of the original and stops at its end
    played, v = run["spanPlayed"], vowels[run["spanPlayed"]["i"]]
    assert played["marked"] and played["unmarked"]
    assert v["start"] <= played["stoppedAt"] <= v["end"] + 0.3
    # the vowel chart from the same reply: a dot per measured vowel, a label per vowel class
    measured = [v for v in vowels if v["measures"]["f1_hz"] and v["measures"]["f2_hz"]]
    assert not run["chart"]["hidden"] and run["chart"]["tokens"] == len(measured) > 5
    assert sorted(run["chart"]["labels"]) == sorted({v["phone"].rstrip("012") for v in measured})
    # the page rounds as JavaScript's Math.round does (x.5 up; Python's round goes to even)
    assert [r["cells"][5] for r in run["rows"]] == [
        str(math.floor(v["measures"]["f1_hz"] + 0.5)) if v["measures"]["f1_hz"] else ""
        for v in vowels]


def test_a_minute_long_recording_zooms_and_scrolls(seen, replies):
    run, body = seen["long"], replies["long"]
    assert body["duration"] >= 60
    levels = run["levels"]
    fit = levels[0]
    assert fit["scrollWidth"] == fit["clientWidth"]
    assert fit["pps"] == pytest.approx(fit["clientWidth"] / body["duration"])
    for level in levels:
        assert_placed(level, body["vowels"])
    for before, after in itertools.pairwise(levels):
        assert after["pps"] == pytest.approx(2 * before["pps"])
        assert after["scrollWidth"] == pytest.approx(2 * before["scrollWidth"], abs=1)
        widths = [(a["w"], b["w"]) for a, b in zip(before["boxes"], after["boxes"], strict=True)
                  if a["w"] > 1.5]
        assert len(widths) > 0.5 * len(body["vowels"])
        assert all(b == pytest.approx(2 * a, abs=0.1) for a, b in widths)
    # zoomed in, labels that do not fit are hidden: none overlaps another or its interval
    for level in levels[1:]:
        for lane in ("vowel", "word"):
            assert level["labels"][lane]["overlaps"] == 0
            assert level["labels"][lane]["outside"] == 0
    for lane in ("vowel", "word"):  # more fit as the zoom deepens
        shown = [level["labels"][lane]["shown"] for level in levels]
        assert shown == sorted(shown) and shown[-1] > shown[0]
    assert levels[-1]["labels"]["vowel"]["shown"] > 0.25 * len(body["vowels"])
    # scrolling: the position holds and the waveform is redrawn from there
    scrolled = run["scrolled"]
    assert run["scroll"] > 0 and scrolled["scrollLeft"] == run["scroll"]
    assert scrolled["drawnFrom"] == pytest.approx(run["scroll"] / scrolled["pps"], abs=1e-3)
    # zooming keeps the time at the middle of the view
    about = run["zoomedAbout"]
    centre = [(p["scrollLeft"] + p["clientWidth"] / 2) / p["pps"] for p in (scrolled, about)]
    assert about["pps"] == pytest.approx(2 * scrolled["pps"])
    assert centre[1] == pytest.approx(centre[0], abs=1 / scrolled["pps"])
    # and Fit goes back to the whole recording
    assert run["refitted"]["scrollWidth"] == run["refitted"]["clientWidth"]
    assert run["zoomOutDisabled"]
    assert max(run["zoomMs"]) < 1000


def test_downloads_are_fetched_on_click(seen, replies):
    run, body = seen["short"], replies["short"]
    sent = {k: v for k, v in run["posts"][0].items() if k != "output"}
    assert run["postsBeforeDownloads"] == 0
    downloads = run["downloads"]
    assert {k: d["posts"] for k, d in downloads.items()} == {
        "dl-json": [],  # made in the page from the reply
        "dl-textgrid": [{**sent, "output": "textgrid"}],
        "dl-wav": [{**sent, "output": "wav", "mode": "concat", "fade_ms": "5"}],
        "dl-png": [{**sent, "output": "png"}],
        "dl-csv": [{**sent, "output": "csv"}],
        "dl-chart": [{**sent, "output": "vowel-chart"}],
    }
    assert run["downloadsAgain"] == {"dl-textgrid": []}
    assert run["playVowels"]["posts"] == []  # the player shares the downloaded WAV
    saved = {k: d["path"] for k, d in downloads.items()}
    assert json.loads(Path(saved["dl-json"]).read_text()) == body
    grid = textgrid.openTextgrid(saved["dl-textgrid"], includeEmptyIntervals=False)
    assert len(grid.getTier("vowels").entries) == len(body["vowels"])
    wav_s = sf.info(saved["dl-wav"]).duration
    vowel_s = sum(v["end"] - v["start"] for v in body["vowels"])
    assert 0.5 * vowel_s < wav_s < 2 * vowel_s
    assert run["playVowels"]["duration"] == pytest.approx(wav_s, abs=0.01)
    assert run["vowelsPlayed"] is True
    assert run["originalDuration"] == pytest.approx(body["duration"], abs=0.05)
    assert Path(saved["dl-png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(saved["dl-chart"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(saved["dl-csv"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(body["vowels"])
    assert [float(r["f1_hz"]) for r in rows if r["f1_hz"]] == [
        v["measures"]["f1_hz"] for v in body["vowels"] if v["measures"]["f1_hz"]]


def test_favicon_server_line_and_a_clean_page(seen, client):
    icon = seen["favicon"]
    assert icon["status"] == 200 and icon["type"].startswith("image/svg+xml")
    assert "<svg" in icon["body"] and icon["link"].endswith("/favicon.ico")
    health = client.get("/health").json()
    assert seen["server"] == f"Server: vowelseg {health['version']}, model {health['model']}."
    assert seen["errors"] == [] and seen["foreign"] == []
    assert seen["ms"] < 120_000
