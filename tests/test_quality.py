"""Bad input is refused or warned about, with a reason (``vowelseg-lab bench-input``
prints the same rows on the whole corpus)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from vowelseg.audio.speech import MIN_SPEECH_WINDOWS, speech_windows
from vowelseg_lab.bench import input as bad_input
from vowelseg_lab.training.corpus import read_corpus

from tests.conftest import wav_bytes

SA1 = "She had your dark suit in greasy wash water all year"


@pytest.fixture(scope="module")
def corpus(timit):
    return read_corpus(timit)


def post(client, samples, transcript=SA1, rate=16000, **fields):
    return client.post("/segment", data={"transcript": transcript, **fields},
                       files={"audio": ("a.wav", wav_bytes(samples, rate), "audio/wav")})


def test_recordings_without_speech_are_refused_with_what_they_sound_like(client):
    recordings = bad_input.no_speech()
    assert len(recordings) >= 20
    heard = {}
    for name, samples in recordings.items():
        reply = post(client, samples)
        assert reply.status_code == 422, (name, reply.text)
        message = reply.json()["error"]
        assert message.startswith("no speech found in the audio"), (name, message)
        heard[name] = message.split("it sounds like ")[1]
    assert heard["tone 440 Hz -20 dBFS"].startswith("a steady tone or hum")
    assert "441 Hz" in heard["tone 440 Hz -20 dBFS"]
    assert heard["pink noise -30 dBFS"].startswith("noise (-30 dBFS)")
    assert heard["dithered silence (+-1 LSB)"].startswith("near-silence")
    assert heard["click train 10/s -20 dBFS"].startswith("clicks")
    assert heard["music (plucked notes) -20 dBFS"].startswith("music")


@pytest.mark.slow
def test_speech_in_noise_quiet_or_band_limited_is_never_refused(corpus, resources):
    rng = np.random.default_rng(0)
    fewest = {}
    for i, utt in enumerate(corpus):
        for condition, samples in bad_input.speech_copies(utt, corpus, rng).items():
            found = speech_windows(samples, enough=10 ** 9)
            fewest[condition] = min(found, fewest.get(condition, found))
            if i % 20 == 0:  # and a few all the way through alignment
                assert bad_input.refused(samples, utt.text, resources) is None
    # measured: the fewest speech windows in any utterance is in the dozens
    assert min(fewest.values()) >= 10 * MIN_SPEECH_WINDOWS, fewest


@pytest.mark.slow
def test_exact_mode_warns_when_the_transcript_does_not_match(corpus, resources):
    rates = {k: np.mean(v) for k, v in bad_input.mismatch_rates(corpus, corpus,
                                                                 resources).items()}
    assert rates["another utterance's"] >= 0.95
    assert rates["last third of the words dropped"] >= 0.90
    assert rates["own transcript"] <= 0.03


def test_approximate_mode_reports_what_the_transcript_lacks(client, timit):
    y = sf.read(timit / "dr1-fvmh0" / "sa1.wav", dtype="float32")[0]
    reply = post(client, y, "She had your dark suit", transcript_match="approximate").json()
    codes = [w["code"] for w in reply["warnings"]]
    assert codes == ["untranscribed_speech"], reply["warnings"]
    good = post(client, y).json()
    assert good["warnings"] == []


def test_transcript_and_audio_warnings(client, timit):
    y = sf.read(timit / "dr1-fvmh0" / "sa1.wav", dtype="float32")[0]
    german = post(client, y, "Sie hatte ihren dunklen Anzug im fettigen Waschwasser",
                  transcript_match="approximate").json()
    assert "words_guessed" in [w["code"] for w in german["warnings"]]
    numbers = post(client, y, "1 2 3 45 678 she had",
                   transcript_match="approximate").json()
    assert "mostly_numbers" in [w["code"] for w in numbers["warnings"]]
    clipped = np.clip(y * 30, -1, 1)
    assert "clipped" in [w["code"] for w in post(client, clipped).json()["warnings"]]
    quiet = bad_input.level(y, -55)
    reply = post(client, quiet)
    assert reply.status_code == 200  # quiet speech is still speech
    assert "quiet" in [w["code"] for w in reply.json()["warnings"]]


def test_an_empty_transcript_is_called_empty(client, timit):
    y = sf.read(timit / "dr1-fvmh0" / "sa1.wav", dtype="float32")[0]
    for transcript in ("", "   "):
        reply = post(client, y, transcript)
        assert reply.status_code == 422
        assert reply.json()["error"].startswith("the transcript is empty")


@pytest.mark.skipif(not all(shutil.which(t) for t in ("sox", "ffmpeg", "lame")),
                    reason="sox, ffmpeg and lame make the MP3s (.ci/test-tools installs them)")
@pytest.mark.slow
def test_mp3_word_times_match_the_wav(corpus, resources):
    diffs = bad_input.mp3_differences(corpus[::20], resources)
    assert len(diffs) == 6
    for name, d in diffs.items():
        ms = 1000 * d
        # the encoder delay (25-69 ms before) is gone: no shift left, only the
        # codec's noise, which low-rate 16 kHz MP3s have more of
        assert abs(ms.mean()) <= 2.0, (name, ms.mean())
        assert np.median(np.abs(ms)) <= 5.0, (name, np.median(np.abs(ms)))
        if name.endswith("44.1 kHz"):
            assert np.mean(np.abs(ms) <= 5) >= 0.9, name


def test_mp3_delay_is_read_from_the_lame_header():
    from vowelseg.audio.io import MP3_DEFAULT_DELAY_SAMPLES, mp3_leading_samples

    frame = b"\xff\xfb\x90\x64" + bytes(32)
    plain = frame + bytes(400)
    tagged = frame + b"Info" + (15).to_bytes(4, "big") + bytes(112) + b"LAME3.100" + bytes(300)
    assert mp3_leading_samples(plain) == MP3_DEFAULT_DELAY_SAMPLES
    assert mp3_leading_samples(tagged) == 0
    for size in (10, 300, 5000):  # the tag's size is syncsafe: 7 bits a byte
        syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
        id3 = b"ID3\x04\x00\x00" + syncsafe + bytes(size)
        assert mp3_leading_samples(id3 + tagged) == 0, size
        assert mp3_leading_samples(id3 + plain) == MP3_DEFAULT_DELAY_SAMPLES, size


def test_batch_reads_timit_txt_as_the_sentence_only(timit, tmp_path):
    from vowelseg import batch

    source = tmp_path / "corpus" / "fvmh0"
    source.mkdir(parents=True)
    for name in ("sa1", "sa2"):
        shutil.copy(timit / "dr1-fvmh0" / f"{name}.wav", source / f"{name}.wav")
        shutil.copy(timit / "dr1-fvmh0" / f"{name}.txt", source / f"{name}.txt")
    assert (source / "sa1.txt").read_text().startswith("0 ")
    summary = batch.run(tmp_path / "corpus", tmp_path / "out", workers=1)
    assert summary["aligned"] == 2 and not summary["failed"]
    words = [w["word"] for w in json.loads((tmp_path / "out" / "fvmh0" / "sa1.json")
                                           .read_text())["words"]]
    assert words == SA1.lower().split()
    table = (tmp_path / "out" / "vowels.csv").read_text().splitlines()
    assert table[0].startswith("speaker,word,phone,stress")
    assert len(table) > 20 and all(row.startswith("fvmh0,") for row in table[1:])


def test_cli_transcript_file_missing_file_and_warnings(timit, tmp_path):
    wav = timit / "dr1-fvmh0" / "sa1.wav"
    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", str(wav),
                           "--transcript-file", str(timit / "dr1-fvmh0" / "sa1.txt")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [w["word"] for w in json.loads(done.stdout)["words"]] == SA1.lower().split()
    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", str(wav),
                           "She had your"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert "warning [transcript_mismatch]" in done.stderr
    done = subprocess.run([sys.executable, "-m", "vowelseg.cli", "segment", "nope.wav", "hi"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no such file: nope.wav" in done.stderr


def test_a_single_short_word_is_not_refused(corpus):
    """Single-word recordings are a vowel user's bread and butter: every word of
    at least 0.25 s, cut out and padded with near-silence, has speech in it."""
    rng = np.random.default_rng(0)
    checked = 0
    for utt in corpus[::4]:
        y = sf.read(utt.wav, dtype="float32")[0]
        for _, start, end in utt.words:
            if end - start < 0.25:
                continue
            pad = (1e-4 * rng.standard_normal(8000)).astype(np.float32)
            word = y[int(start * 16000):int(end * 16000)]
            assert speech_windows(np.concatenate([pad, word, pad])) >= MIN_SPEECH_WINDOWS, \
                (utt.utt_id, start, end)
            checked += 1
    assert checked > 50


def test_numbers_in_an_ordinary_sentence_are_not_offsets():
    from vowelseg.pipeline import load_resources
    from vowelseg.quality import transcript_warnings
    from vowelseg.text.files import transcript_text
    from vowelseg.text.g2p import transcript_words

    lexicon = load_resources().lexicon
    for text in ("In 1984 there were 250 people.", "Call me at 555 1234 tomorrow.",
                 "It cost $1,250.75 in 2019"):
        codes = [w.code for w in transcript_warnings(text, transcript_words(text, lexicon))]
        assert "mostly_numbers" not in codes, text
    timit = "0 54682 She had your dark suit in greasy wash water all year."
    codes = [w.code for w in transcript_warnings(timit, transcript_words(timit, lexicon))]
    assert "mostly_numbers" in codes
    assert transcript_text(timit) == "She had your dark suit in greasy wash water all year."
    assert transcript_text("7 11 is a shop") == "7 11 is a shop"


def test_clipping_is_found_in_mu_law_and_other_outputs_carry_the_codes(client, timit):
    import io

    y = sf.read(timit / "dr1-fvmh0" / "sa1.wav", dtype="float32")[0]
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(y * 30, -1, 1), 16000, subtype="ULAW", format="WAV")
    files = {"audio": ("a.wav", buffer.getvalue(), "audio/wav")}
    reply = client.post("/segment", data={"transcript": SA1, "output": "textgrid"},
                        files=files)
    assert reply.status_code == 200
    assert "clipped" in reply.headers["x-vowelseg-warnings"].split(",")
