"""Vowel measurements: against Klatt vowels with known formants, on real speech,
from existing TextGrids, over HTTP."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from vowelseg.measures import measure_vowels

from tests.conftest import wav_bytes

SA1 = "She had your dark suit in greasy wash water all year"

#: Hillenbrand et al. (1995) mean F1-F3 of twelve American English vowels, men and women.
HILLENBRAND_1995 = {
    "iy": ((342, 2322, 3000), (437, 2761, 3372)), "ih": ((427, 2034, 2684), (483, 2365, 3053)),
    "ei": ((476, 2089, 2691), (536, 2530, 3047)), "eh": ((580, 1799, 2605), (731, 2058, 2979)),
    "ae": ((588, 1952, 2601), (669, 2349, 2972)), "ah": ((768, 1333, 2522), (936, 1551, 2815)),
    "aw": ((652, 997, 2538), (781, 1136, 2824)), "oa": ((497, 910, 2459), (555, 1035, 2828)),
    "oo": ((469, 1122, 2434), (519, 1225, 2827)), "uw": ((378, 997, 2343), (459, 1105, 2735)),
    "uh": ((623, 1200, 2550), (753, 1426, 2933)), "er": ((474, 1379, 1710), (523, 1588, 1929)),
}


def klatt_vowel(formants, f0: float, seconds: float = 0.3, rate: int = 16000) -> np.ndarray:
    """Praat's KlattGrid vowel with these F1-F3, 0.1 s of silence on each side."""
    from parselmouth.praat import call

    grid = call("Create KlattGrid from vowel", "v", seconds, f0, formants[0], 80, formants[1],
                100, formants[2], 150, 3900, 0.05, 1000)
    sound = call(call(grid, "To Sound"), "Resample", rate, 50)
    y = sound.values[0] / np.abs(sound.values[0]).max() * 0.5
    pad = np.zeros(rate // 10)
    return np.concatenate([pad, y, pad])


def klatt_errors(snr_db: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Relative F1-F3 errors, % (24 vowels x 3): ours, and Praat's defaults
    (Burg, 5 formants, ceiling 5500 Hz) at the midpoint."""
    import parselmouth

    rng = np.random.default_rng(0)
    ours, praat = [], []
    for men, women in HILLENBRAND_1995.values():
        for formants, f0 in ((men, 120.0), (women, 220.0)):
            y = klatt_vowel(formants, f0)
            if snr_db is not None:
                power = np.mean(y[1600:-1600] ** 2)
                y = y + rng.standard_normal(len(y)) * np.sqrt(power / 10 ** (snr_db / 10))
            got = measure_vowels(y, 16000, [(0.1, 0.4)])[0].midpoint_hz
            burg = parselmouth.Sound(y, 16000).to_formant_burg(
                time_step=0.005, max_number_of_formants=5, maximum_formant=5500)
            default = [burg.get_value_at_time(k, 0.25) for k in (1, 2, 3)]
            ours.append([abs(g - t) / t if g is not None else np.inf
                         for g, t in zip(got, formants, strict=True)])
            praat.append([abs(g - t) / t for g, t in zip(default, formants, strict=True)])
    return 100 * np.array(ours), 100 * np.array(praat)


def test_klatt_vowels_are_measured_within_a_few_percent():
    ours, praat = klatt_errors()
    noisy, praat_noisy = klatt_errors(snr_db=20.0)
    # the README's figures (pytest -s prints them); measured: median 1.60 / 1.00 / 1.01 %,
    # 90th percentile 3.6 / 2.1 / 1.4 %; Praat's defaults 1.56 / 1.00 / 0.99 %, 3.7 / 2.1 /
    # 1.4 %; 20 dB SNR 2.52 / 1.36 / 1.14 %, Praat's defaults 3.39 / 2.20 / 1.65 %
    for label, errors in (("vowelseg", ours), ("Praat's defaults", praat),
                          ("vowelseg, 20 dB SNR", noisy), ("Praat's defaults, 20 dB SNR",
                                                          praat_noisy)):
        print(f"Klatt vowels, {label}: median error F1-F3 "
              + " / ".join(f"{x:.2f}" for x in np.median(errors, axis=0))
              + " %, 90th percentile " + " / ".join(f"{x:.1f}" for x in
                                                   np.percentile(errors, 90, axis=0))
              + " %, mean " + " / ".join(f"{x:.2f}" for x in np.mean(errors, axis=0)) + " %")
    median, p90 = np.median(ours, axis=0), np.percentile(ours, 90, axis=0)
    assert median[0] <= 3.0 and median[1] <= 2.0 and median[2] <= 2.0, median
    assert p90[0] <= 6.0 and p90[1] <= 6.0, p90
    # no worse than Praat's defaults, to the figures' resolution: Praat's own median
    # F1 error is 1.59 % instead of 1.56 % when its Sound is cut round the vowel, and
    # 1.54-1.66 % with the audio shifted by a few samples (docs/experiments.md)
    assert (median <= np.median(praat, axis=0) + 0.1).all(), (median, np.median(praat, axis=0))
    assert (p90 <= np.percentile(praat, 90, axis=0) + 0.1).all(), p90
    assert (np.mean(ours, axis=0) <= np.mean(praat, axis=0) + 0.1).all()
    noisy_median = np.median(noisy, axis=0)
    assert (noisy_median <= median + 1.0).all(), noisy_median
    assert (noisy_median <= np.median(praat_noisy, axis=0)).all(), noisy_median


def test_a_steady_vowel_keeps_the_default_ceiling_wherever_it_starts():
    """Under every ceiling a steady vowel's tracks fit a cubic within a few
    thousandths; which fitted best flipped with a shift of one sample, and with
    it the ceiling (5000 or 5500 Hz) and the formants (docs/experiments.md)."""
    for name in ("ih", "eh", "ae"):
        y = klatt_vowel(HILLENBRAND_1995[name][0], 120.0)
        for shift in range(4):
            got = measure_vowels(np.concatenate([np.zeros(shift), y]), 16000,
                                 [(0.1 + shift / 16000, 0.4 + shift / 16000)])[0]
            assert got.ceiling_hz == 5500, (name, shift, got.ceiling_hz)


def test_a_vowel_measures_the_same_alone_or_with_the_rest():
    """Each vowel is analysed on the same samples whichever stretch of the
    recording was resampled for it: measuring a hand-corrected TextGrid does not
    move the vowels that were not touched."""
    y = np.concatenate([klatt_vowel(HILLENBRAND_1995[name][0], 120.0, seconds=0.2)
                        for name in ("iy", "ah", "uw", "eh")])
    intervals = [(0.1 + 0.4 * i + 0.013 * i, 0.3 + 0.4 * i) for i in range(4)]
    together = measure_vowels(y, 16000, intervals, ceiling_hz=5500)
    for interval, measured in zip(intervals, together, strict=True):
        alone = measure_vowels(y, 16000, [interval], ceiling_hz=5500)[0]
        assert alone.track_hz == measured.track_hz, interval


def test_a_lone_vowel_keeps_its_formants_under_the_chosen_ceiling():
    """The smoothest tracks of one vowel can be wrong ones: a lone /i/ (Peterson &
    Barney's means) once got a 6750-7000 Hz ceiling and its F2 reported as F1
    (+808 %); a ceiling that relabels the default's formants is not taken."""
    for formants, f0 in (((270, 2290, 3010), 110.0), ((310, 2790, 3310), 200.0)):
        y = klatt_vowel(formants, f0)
        got = measure_vowels(y, 16000, [(0.1, 0.4)])[0]
        errors = [abs(g - t) / t for g, t in zip(got.midpoint_hz, formants, strict=True)]
        assert max(errors) < 0.2, (formants, got.midpoint_hz, got.ceiling_hz)


def test_too_short_or_unvoiced_vowels_get_a_reason_not_a_number():
    rng = np.random.default_rng(1)
    y = np.concatenate([klatt_vowel((600, 1700, 2600), 150.0),
                        0.05 * rng.standard_normal(4800)])
    short, whisper = measure_vowels(y, 16000, [(0.1, 0.12), (0.55, 0.75)], ceiling_hz=5500)
    assert short.f0_hz is None and short.midpoint_hz == (None, None, None)
    assert short.reason.startswith("too short")
    assert whisper.f0_hz is None and whisper.reason.startswith("no voiced frame")


def test_rhotic_vowels_are_measured_under_a_lower_ceiling():
    # a woman's ER (Hillenbrand 1995: 523 / 1588 / 1929 Hz); under a 6500 Hz
    # ceiling Burg merges F2 and F3 (measured: 1718 / 1719 Hz), into a pole wide
    # enough that a vowel not labelled ER moves to 6250 Hz (F2 1664 Hz)
    y = klatt_vowel(HILLENBRAND_1995["er"][1], 220.0)
    plain, rhotic = (measure_vowels(y, 16000, [(0.1, 0.4)], ceiling_hz=6500, phones=[phone])[0]
                     for phone in ("AH1", "ER1"))
    assert plain.ceiling_hz == 6250 and rhotic.ceiling_hz == 5000
    assert rhotic.midpoint_hz[1] == pytest.approx(1588, rel=0.05), rhotic.midpoint_hz
    assert rhotic.midpoint_hz[2] == pytest.approx(1929, rel=0.05), rhotic.midpoint_hz


def test_fasttrack_agrees_with_us_on_klatt_vowels():
    pytest.importorskip("fasttrackpy")
    from vowelseg_lab.bench.formants import fasttrack_midpoint

    for name in ("iy", "ah", "uw"):
        formants = HILLENBRAND_1995[name][0]
        y = klatt_vowel(formants, 120.0)
        ours = measure_vowels(y, 16000, [(0.1, 0.4)])[0].midpoint_hz
        theirs, ceiling = fasttrack_midpoint(y, 16000, 0.1, 0.4)
        assert 4000 <= ceiling <= 7000
        for truth, a, b in zip(formants[:2], ours[:2], theirs[:2], strict=True):
            assert a == pytest.approx(truth, rel=0.06) and b == pytest.approx(truth, rel=0.06)


@pytest.mark.slow
def test_corner_vowels_sit_where_they_should_for_every_speaker(timit, resources):
    from vowelseg import Options, segment
    from vowelseg_lab.training.corpus import read_corpus, speaker_of

    by_speaker: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for utt in read_corpus(timit):
        seg = segment(utt.wav, utt.text, resources, Options(measures=True))
        for vowel, m in zip(seg.vowels, seg.measures, strict=True):
            base = vowel.phone.rstrip("012")
            f1, f2 = m.midpoint_hz[:2]
            if base in ("IY", "UW", "AA") and vowel.phone[-1] == "1" and f1 and f2:
                by_speaker.setdefault(speaker_of(utt), {}).setdefault(base, []).append((f1, f2))
    assert len(by_speaker) == 8
    for speaker, vowels in by_speaker.items():
        mean = {v: np.mean(xy, axis=0) for v, xy in vowels.items()}
        assert mean["IY"][0] < mean["AA"][0] and mean["UW"][0] < mean["AA"][0], speaker
        assert mean["IY"][1] > mean["UW"][1] and mean["IY"][1] > mean["AA"][1], speaker


def test_csv_and_vowel_chart_over_http(client, timit):
    audio = wav_bytes(sf.read(timit / "dr1-fvmh0" / "sa1.wav", dtype="float32")[0], 16000)
    files = {"audio": ("a.wav", audio, "audio/wav")}
    reply = client.post("/segment", data={"transcript": SA1, "output": "csv"}, files=files)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [r["word"] for r in rows][:2] == ["she", "had"]
    assert {"f1_hz", "f2_hz", "f3_hz", "f1_20_hz", "f3_80_hz", "f0_hz", "stress"} <= set(rows[0])
    had = rows[1]
    assert had["phone"] == "AE" and 550 < float(had["f1_hz"]) < 950  # an open front vowel
    chart = client.post("/segment", data={"transcript": SA1, "output": "vowel-chart"},
                        files=files)
    assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG"
    body = client.post("/segment", data={"transcript": SA1, "measures": "true"},
                       files=files).json()
    assert body["vowels"][1]["measures"]["f1_hz"] == float(had["f1_hz"])
    assert "measures" not in client.post("/segment", data={"transcript": SA1},
                                         files=files).json()["vowels"][0]


def test_measure_reads_vowelseg_and_mfa_textgrids_and_refuses_bad_ones(client, timit,
                                                                        tmp_path):
    from praatio import textgrid

    wav = timit / "dr1-fvmh0" / "sa1.wav"
    ours = tmp_path / "ours.TextGrid"
    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", str(wav), SA1,
                           "--textgrid", str(ours), "--csv", str(tmp_path / "direct.csv")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    grid = textgrid.openTextgrid(str(ours), includeEmptyIntervals=False)
    end = grid.maxTimestamp
    mfa = textgrid.Textgrid(0, end)  # MFA's layout: speaker-named tiers, short format
    for tier in ("words", "phones"):
        mfa.addTier(textgrid.IntervalTier(f"fvmh0 - {tier}", grid.getTier(tier).entries, 0, end))
    mfa.save(str(tmp_path / "mfa.TextGrid"), format="short_textgrid", includeBlankSpaces=True)
    tables = {}
    for name in ("ours", "mfa"):
        done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "measure", str(wav),
                               str(tmp_path / f"{name}.TextGrid")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        tables[name] = list(csv.DictReader(io.StringIO(done.stdout)))
    direct = list(csv.DictReader(open(tmp_path / "direct.csv")))
    assert [(r["word"], r["phone"], r["f1_hz"]) for r in tables["ours"]] == \
        [(r["word"], r["phone"], r["f1_hz"]) for r in direct]
    assert [r["f2_hz"] for r in tables["mfa"]] == [r["f2_hz"] for r in tables["ours"]]

    words_only = textgrid.Textgrid(0, end)
    words_only.addTier(textgrid.IntervalTier("words", grid.getTier("words").entries, 0, end))
    ipa = textgrid.Textgrid(0, end)
    ipa.addTier(textgrid.IntervalTier("phones", [(a, b, "ɑ") for a, b, _ in
                                                 grid.getTier("phones").entries], 0, end))
    late = textgrid.Textgrid(0, 10.0)
    late.addTier(textgrid.IntervalTier("phones", [(5.0, 6.0, "AA1")], 0, 10.0))
    audio = wav.read_bytes()
    for grid_, message in ((words_only, "no phone tier"), (ipa, "not ARPAbet"),
                           (late, "past the audio's end")):
        path = tmp_path / "bad.TextGrid"
        grid_.save(str(path), format="long_textgrid", includeBlankSpaces=True)
        done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "measure", str(wav),
                               str(path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        reply = client.post("/measure", files={"audio": ("a.wav", audio, "audio/wav"),
                                               "textgrid": ("a.TextGrid", path.read_bytes())})
        assert reply.status_code == 422 and message in reply.json()["error"]
    mfa_bytes = (tmp_path / "mfa.TextGrid").read_bytes()
    reply = client.post("/measure", data={"output": "json"},
                        files={"audio": ("a.wav", audio, "audio/wav"),
                               "textgrid": ("a.TextGrid", mfa_bytes)})
    assert reply.status_code == 200
    assert [v["phone"] for v in reply.json()["vowels"]][:2] == ["IY1", "AE1"]


FAKE_FAVE_EXTRACT = '''#!{python}
"""Stands in for new-fave's fave-extract: a track for every vowel of 50 ms or
more in each TextGrid's phones tier, F1-F3 rising through the vowel."""
import csv, pathlib, sys
from praatio import textgrid
args = sys.argv[1:]
assert args[0] == "subcorpora" and "--which" in args, args
out = pathlib.Path(args[args.index("--destination") + 1])
out.mkdir(parents=True)
for folder in args[1:args.index("--destination")]:
    for tg in sorted(pathlib.Path(folder).glob("*.TextGrid")):
        assert tg.with_suffix(".wav").exists()
        grid = textgrid.openTextgrid(str(tg), includeEmptyIntervals=False)
        assert list(grid.tierNames) == ["words", "phones"], grid.tierNames
        with open(out / (tg.stem + "_tracks.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["F1", "F2", "F3", "time", "rel_time", "dur", "max_formant", "id"])
            for n, (a, b, label) in enumerate(grid.getTier("phones").entries):
                if label[-1] in "012" and b - a >= 0.05:
                    for i in range(5):
                        rel = 0.002 + i * (b - a - 0.004) / 4
                        # no F2 in the frame before the middle: read between the others
                        w.writerow([500 + 100 * rel / (b - a), "" if i == 1 else 1500, 2500,
                                    a + rel, rel, b - a, 5000, f"0-0-{{n}}"])
'''


def test_new_fave_runs_on_our_alignment_and_is_matched_vowel_by_vowel(tmp_path):
    """``bench-formants --peer new-fave``'s plumbing, with a stand-in for
    fave-extract (new-fave pins numpy below 2.3, so it is not a test dependency):
    one folder per speaker, MFA-layout TextGrids, each track matched to its vowel
    and read at the vowel's middle."""
    from vowelseg.textgrids import read_alignment
    from vowelseg_lab.bench.formants import new_fave
    from vowelseg_lab.training.corpus import Utterance

    y = np.concatenate([klatt_vowel(HILLENBRAND_1995["iy"][0], 120.0),
                        klatt_vowel(HILLENBRAND_1995["ah"][0], 120.0, seconds=0.04)])
    sf.write(tmp_path / "a.wav", y, 16000)
    grid = (tmp_path / "a.TextGrid")
    from praatio import textgrid
    tg = textgrid.Textgrid(0.0, len(y) / 16000)
    tg.addTier(textgrid.IntervalTier("words", [(0.1, 0.4, "he"), (0.6, 0.64, "uh")], 0.0,
                                     len(y) / 16000))
    tg.addTier(textgrid.IntervalTier("phones", [(0.1, 0.15, "HH"), (0.15, 0.4, "IY1"),
                                                (0.6, 0.64, "AH1")], 0.0, len(y) / 16000))
    tg.save(str(grid), format="long_textgrid", includeBlankSpaces=True)
    seg = read_alignment(grid.read_text(), len(y) / 16000, 16000)
    utt = Utterance("spk1/a", tmp_path / "a.wav", "he uh", [], [], len(y) / 16000)
    fake = tmp_path / "fave-extract"
    fake.write_text(FAKE_FAVE_EXTRACT.format(python=sys.executable))
    fake.chmod(0o755)
    (got,) = new_fave(fake)([utt], [seg])
    assert [v.phone for v in seg.vowels] == ["IY1", "AH1"]
    (values, ceiling), short = got
    assert values == pytest.approx((550.0, 1500.0, 2500.0)) and ceiling == 5000
    assert short is None  # under 50 ms: new-fave gives no track

    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('no speakers found')\n")
    with pytest.raises(RuntimeError, match="no speakers found"):
        new_fave(fake)([utt], [seg])
    fake.write_text(f"#!{sys.executable}\nprint('nothing to do')\n")
    with pytest.raises(RuntimeError, match="wrote no tracks file"):
        new_fave(fake)([utt], [seg])
    from vowelseg_lab.cli import main

    with pytest.raises(SystemExit, match="needs --fave-extract"):
        main(["bench-formants", "--corpus", str(tmp_path), "--peer", "new-fave"])
    with pytest.raises(SystemExit, match="no such program"):
        main(["bench-formants", "--corpus", str(tmp_path), "--peer", "new-fave",
              "--fave-extract", str(tmp_path / "nope")])


def test_a_long_recording_is_measured_the_same_by_several_processes(monkeypatch):
    """Each vowel is measured from its own samples, so sharing the vowels among
    processes (pieces cut on whole seconds) gives the same values."""
    from concurrent.futures import ProcessPoolExecutor

    from vowelseg.measures import pool as measures_pool

    names = list(HILLENBRAND_1995)
    # a vowel every 1.3 s: the helpers' pieces start seconds into the recording
    y = np.concatenate([np.pad(klatt_vowel(HILLENBRAND_1995[n][i % 2], (120.0, 220.0)[i % 2],
                                           seconds=0.2), (0, 14400))
                        for i, n in enumerate(names)])
    intervals = [(0.1 + 1.3 * i + 0.0007 * i, 0.3 + 1.3 * i) for i in range(len(names))]
    phones = [n.upper()[:2] + "1" for n in names]
    alone = measure_vowels(y, 16000, intervals, ceiling_hz=5500, phones=phones)
    monkeypatch.setattr(measures_pool, "PARALLEL_MIN_VOWELS", 4)
    monkeypatch.setattr(measures_pool, "_START_VOWELS", 0)
    pools = []

    def pool(**kwargs):  # noqa: ANN003, ANN202
        pools.append(kwargs["max_workers"])
        return ProcessPoolExecutor(**kwargs)

    monkeypatch.setattr(measures_pool, "ProcessPoolExecutor", pool)
    shared = measure_vowels(y, 16000, intervals, ceiling_hz=5500, phones=phones, processes=3)
    assert pools == [2]
    assert shared == alone
    assert [m.ceiling_hz for m in shared].count(5000) == 1  # ER, under its own ceiling


def test_a_pole_too_wide_to_be_f2_sends_the_vowel_to_a_nearer_ceiling(timit, monkeypatch):
    """A woman's /i/ in "cream" (timit-dev, F2 about 2570 Hz on the spectrogram):
    under 5500 Hz Burg reports a pole 2100 Hz wide at 1580 Hz as F2."""
    from vowelseg.measures import ceiling

    y, rate = sf.read(timit / "dr5-ftlg0" / "sx33.wav")
    got = measure_vowels(y, rate, [(0.801, 0.889)], ceiling_hz=5500, phones=["IY1"])[0]
    assert got.ceiling_hz != 5500 and got.midpoint_hz[1] == pytest.approx(2570, rel=0.05)
    assert max(got.bandwidths_hz[50][:2]) <= ceiling.WIDE_HZ
    monkeypatch.setattr(ceiling, "WIDE_HZ", float("inf"))
    plain = measure_vowels(y, rate, [(0.801, 0.889)], ceiling_hz=5500, phones=["IY1"])[0]
    assert plain.ceiling_hz == 5500 and plain.midpoint_hz[1] < 1700, plain.midpoint_hz
