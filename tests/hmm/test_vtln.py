"""Vocal-tract-length normalisation: the warp follows the voice, not the words."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf
from vowelseg.features.mfcc import FeatureConfig, mel_filterbank, mfcc_features, warp_hz
from vowelseg.hmm.model import load_model, save_model
from vowelseg.hmm.vtln import DEFAULT_WARPS, choose_warp, excerpt, speech_spans
from vowelseg.pipeline import Options, segment
from vowelseg.render import to_json
from vowelseg_lab.training import corpus

from tests.conftest import resample


def test_warp_scales_below_the_knee_and_keeps_the_band_edge():
    hz = np.array([0.0, 500.0, 3000.0, 6000.0, 7600.0])
    assert np.allclose(warp_hz(hz, 1.0, 7600.0), hz)
    up, down = warp_hz(hz, 1.1, 7600.0), warp_hz(hz, 0.9, 7600.0)
    assert np.allclose(up[:3], 1.1 * hz[:3]) and np.allclose(down[:3], 0.9 * hz[:3])
    assert up[-1] == pytest.approx(7600.0) and down[-1] == pytest.approx(7600.0)
    for warped in (up, down):
        assert np.all(np.diff(warped) > 0)


def test_unit_warp_leaves_the_features_unchanged(timit):
    y = sf.read(timit / "dr1-fvmh0" / "sa1.wav", dtype="float32")[0]
    c = FeatureConfig()
    assert np.array_equal(mfcc_features(y, c), mfcc_features(y, c, warp=1.0))
    assert np.array_equal(mel_filterbank(16000, 512, 40, 60.0, 7600.0),
                          mel_filterbank(16000, 512, 40, 60.0, 7600.0, 1.0))
    assert not np.allclose(mfcc_features(y, c), mfcc_features(y, c, warp=1.08))


def test_higher_formants_get_a_higher_warp(timit, resources):
    """The same utterance played 12 % faster has every formant 12 % higher: the
    warp chosen for it must rise. And women's voices (higher formants) get higher
    warps than men's, on the same two sentences."""
    model = resources.model
    rate = model.features.sample_rate
    utterances = corpus.read_corpus(timit)
    chosen: dict[str, list[float]] = {"f": [], "m": []}
    raised = []
    for u in utterances:
        if u.utt_id.split("/")[1] not in ("sa1", "sa2"):
            continue
        y = sf.read(u.wav, dtype="float32")[0]
        w = choose_warp(y, model, DEFAULT_WARPS)
        chosen[corpus.speaker_of(u).split("-")[1][0]].append(w)
        faster = resample(y, rate * 1.12, rate)
        raised.append(choose_warp(faster, model, DEFAULT_WARPS) - w)
    assert len(chosen["f"]) == len(chosen["m"]) == 8
    assert np.mean(chosen["f"]) - np.mean(chosen["m"]) >= 0.06, chosen
    assert np.mean(raised) >= 0.06 and min(raised) >= 0.0, raised


def test_the_warp_does_not_hang_on_where_the_recording_starts(timit, resources):
    """Dropping 1-3 frames of the leading silence must not change the warp: the
    score is a mean over every frame (scoring every third frame picked another
    warp in 15 of these 48 cases)."""
    model = resources.model
    same = total = 0
    for u in corpus.read_corpus(timit):
        if u.utt_id.split("/")[1] not in ("sa1", "sa2"):
            continue
        y = sf.read(u.wav, dtype="float32")[0]
        w = choose_warp(y, model)
        for shift_frames in (1, 2, 3):
            shift = round(shift_frames * model.features.hop_s * model.features.sample_rate)
            same += choose_warp(y[shift:], model) == w
            total += 1
    assert total == 48
    assert same >= 44, same


def test_long_signals_are_scored_on_an_excerpt():
    y = np.arange(100 * 16000, dtype=np.float32)
    piece = excerpt(y, 16000, max_s=30.0, piece_s=3.0)
    assert len(piece) == 30 * 16000
    assert piece[0] == 0 and piece[-1] == y[-1]
    assert excerpt(y[:16000], 16000) is not None and len(excerpt(y[:16000], 16000)) == 16000


def test_the_excerpt_of_the_speech_leaves_the_pauses_out():
    rate = 10
    y = np.arange(100 * rate, dtype=np.float32)
    pauses = [(0.0, 20.0), (15.0, 30.5), (50.0, 99.0)]  # overlapping, and up to the end
    assert speech_spans(len(y), rate, pauses) == [(305, 500), (990, 1000)]
    speech = np.concatenate([y[305:500], y[990:]])
    assert np.array_equal(excerpt(y, rate, max_s=60.0, spans=speech_spans(len(y), rate, pauses)),
                          speech)
    long = excerpt(y, rate, max_s=9.0, piece_s=3.0, spans=speech_spans(len(y), rate, pauses))
    assert np.array_equal(long, excerpt(speech, rate, max_s=9.0, piece_s=3.0))
    assert speech_spans(len(y), rate, [(0.0, 200.0)]) == [(0, len(y))]  # all pause: all of it


def test_model_grid_round_trips_and_is_reported(timit, resources, tmp_path):
    """A model saved with a grid loads with it; the reply says which warp the voice
    got; without a grid (or with vtln off) the warp is 1 and the alignment is the
    one of the unwarped features."""
    model = dataclasses.replace(resources.model, vtln_warps=DEFAULT_WARPS)
    save_model(model, tmp_path / "m")
    assert load_model(tmp_path / "m").vtln_warps == DEFAULT_WARPS
    wav = timit / "dr7-fblv0" / "sa1.wav"
    text = (timit / "dr7-fblv0" / "sa1.txt").read_text().split(" ", 2)[2]
    plain = dataclasses.replace(resources, model=dataclasses.replace(model, vtln_warps=()))
    warped = dataclasses.replace(resources, model=model)
    off = to_json(segment(wav, text, warped, Options(vtln=False)))
    assert off["vtln_warp"] == 1.0
    assert off == to_json(segment(wav, text, plain))
    on = to_json(segment(wav, text, warped))
    assert on["vtln_warp"] in DEFAULT_WARPS and on["vtln_warp"] > 1.0  # a woman's voice


def test_noise_around_the_speech_does_not_move_the_warp(timit, resources):
    """The warp is fitted to the speech the VAD found, not to long noisy pauses:
    10 s of silence then 10 s of low noise on both sides leave it where it was
    (bench-robust's padding row; fitted on every frame they had moved it)."""
    from vowelseg.audio.io import Audio
    from vowelseg_lab.training import mix

    rng = np.random.default_rng(0)
    u = next(u for u in corpus.read_corpus(timit) if u.utt_id == "dr7-fblv0/sa1")
    y = sf.read(u.wav, dtype="float32")[0]
    n = 10 * 16000
    noise = mix.at_snr(mix.white(n, rng), mix.speech_power(y, u.phones, 16000), 30.0)
    padded = np.concatenate([np.zeros(n), noise, y, noise, np.zeros(n)]).astype(np.float32)
    plain = segment(Audio(y[:, None], 16000, "WAV", "FLOAT"), u.text, resources)
    around = segment(Audio(padded[:, None], 16000, "WAV", "FLOAT"), u.text, resources)
    assert plain.vtln_warp > 1.0  # a woman's voice
    assert around.vtln_warp == plain.vtln_warp


def test_a_short_recording_gets_the_warp_of_its_speech(timit, resources):
    """Up to MAX_SCORED_S the pipeline scores each warp on the features it will
    align (outside the VAD's pauses) and keeps the winner's: the warps are those
    of scoring an excerpt of the speech alone (measured: all 80 timit-dev
    utterances; here the 16 sa1/sa2), at one feature pass less."""
    from vowelseg.audio.io import analysis_signal, read_audio
    from vowelseg.audio.vad import find_pauses

    model = resources.model
    same = total = 0
    for u in corpus.read_corpus(timit):
        if u.utt_id.split("/")[1] not in ("sa1", "sa2"):
            continue
        y = analysis_signal(read_audio(u.wav), 16000)
        pauses = find_pauses(y, 16000, Options().vad_aggressiveness,
                             min_pause_s=Options().min_pause_s)
        alone = choose_warp(y, model, spans=speech_spans(len(y), 16000, pauses))
        same += segment(u.wav, u.text, resources).vtln_warp == alone
        total += 1
    assert total == 16 and same == 16, same
