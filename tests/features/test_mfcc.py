"""The feature front end: block-wise equals one pass, NumPy equals librosa."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from vowelseg.features.mfcc import (
    FeatureConfig,
    analysis_window,
    delta,
    delta_weights,
    equalise,
    features_and_silence,
    log_mel,
    mel_filterbank,
    mfcc_features,
)

from tests.conftest import needs_train, resample


def speech(timit) -> np.ndarray:
    return sf.read(timit / "dr1-fvmh0" / "sa1.wav", dtype="float32")[0]


def test_block_wise_spectrum_equals_one_pass(timit):
    y = speech(timit)
    config = FeatureConfig()
    whole = log_mel(y, config, block_frames=10 ** 6)
    assert np.abs(log_mel(y, config, block_frames=37) - whole).max() < 1e-5  # BLAS rounding


@needs_train
def test_numpy_front_end_matches_librosa(timit):
    import librosa

    y = speech(timit)
    c = FeatureConfig()
    n_fft = 512
    fb = mel_filterbank(c.sample_rate, n_fft, c.n_mels, c.fmin_hz, c.fmax_hz)
    ref_fb = librosa.filters.mel(sr=c.sample_rate, n_fft=n_fft, n_mels=c.n_mels,
                                 fmin=c.fmin_hz, fmax=c.fmax_hz)
    assert np.allclose(fb, ref_fb, rtol=1e-5, atol=1e-9)
    mel = librosa.feature.melspectrogram(
        y=y, sr=c.sample_rate, n_fft=n_fft, hop_length=c.hop_length,
        win_length=int(c.win_s * c.sample_rate), n_mels=c.n_mels, fmin=c.fmin_hz,
        fmax=c.fmax_hz)
    ref = np.log(np.maximum(mel, mel.max() * 10 ** (-c.floor_db / 10)))
    assert np.abs(log_mel(y, c) - ref).max() < 1e-3
    window = analysis_window(int(c.win_s * c.sample_rate), n_fft)
    ref_window = librosa.util.pad_center(scipy.signal.get_window("hann", 400), size=n_fft)
    assert np.abs(window - ref_window).max() < 1e-7
    for width, order in ((9, 1), (9, 2), (5, 1), (3, 2)):
        assert np.allclose(delta_weights(width, order), scipy.signal.savgol_coeffs(
            width, order, deriv=order, use="dot"), atol=1e-12)
    mfcc = librosa.feature.mfcc(S=ref, n_mfcc=c.n_mfcc)
    for order in (1, 2):
        want = librosa.feature.delta(mfcc, width=c.delta_width, order=order, mode="nearest")
        assert np.abs(delta(mfcc, c.delta_width, order) - want).max() < 1e-3


def test_digital_silence_is_marked_and_left_out_of_the_normalisation(timit):
    y = speech(timit)
    c = FeatureConfig()
    padded = np.concatenate([np.zeros(16000, np.float32), y, np.zeros(16000, np.float32)])
    feats, silent = features_and_silence(padded, c)
    assert silent[:190].all() and silent[-190:].all()
    assert silent[260:-260].mean() < 0.1
    # the speech frames are normalised as if the zeros were not there
    plain = mfcc_features(y, c)
    middle = feats[200 + 20:200 + len(plain) - 20]
    assert np.abs(middle - plain[20:-20]).mean() < 0.1


def test_a_loud_stretch_does_not_change_the_floor_of_another(timit):
    """Each normalisation span has its own power floor: making the second
    utterance of a recording 4x louder leaves the first one's features (and its
    digital-silence frames) as they were; one span for the whole signal does not."""
    y = speech(timit)
    c = FeatureConfig()
    gap = np.zeros(32000, np.float32)
    quiet = np.concatenate([y, gap, y])
    loud = np.concatenate([y, gap, 4 * y])
    cut = (len(y) + 16000) // c.hop_length  # the middle of the gap
    spans = [(0, cut), (cut, 1 + len(quiet) // c.hop_length)]
    fq, sq = features_and_silence(quiet, c, spans)
    fl, sl = features_and_silence(loud, c, spans)
    inside = cut - c.delta_width // 2  # the last frames' deltas reach over the cut
    assert np.abs(fq[:inside] - fl[:inside]).max() < 1e-4 and (sq[:cut] == sl[:cut]).all()
    assert sq[cut - 100:cut].all()  # the gap is digital silence in its span
    whole_q, _ = features_and_silence(quiet, c)
    whole_l, _ = features_and_silence(loud, c)
    assert np.abs(whole_q[:inside] - whole_l[:inside]).max() > 0.1  # a shared floor moves


def test_equalisation_gives_normal_quantiles_whatever_the_scale(timit):
    feats, silent = features_and_silence(speech(timit), FeatureConfig())
    feats = feats[~silent]  # (digital silence: identical frames, tied ranks)
    once = equalise(feats.copy())
    stretched = equalise(np.sinh(3.0 * feats.astype(np.float64)))  # rising: same ranks
    assert np.allclose(once, stretched, atol=1e-4)
    assert np.abs(once.mean(axis=0)).max() < 0.01
    assert np.all(np.abs(once.std(axis=0) - 1.0) < 0.05)
    assert np.all(np.diff(once[np.argsort(feats[:, 0]), 0]) >= 0)  # order kept


def test_heq_models_equalise_and_older_models_keep_mvn(timit):
    from vowelseg.hmm.model import SYNTHETIC_MODEL, load_model

    y = speech(timit)
    assert load_model(SYNTHETIC_MODEL).features.normalisation == "mvn"  # no key in its JSON
    heq, _ = features_and_silence(y, FeatureConfig(normalisation="heq"))
    mvn, silent = features_and_silence(y, FeatureConfig())
    assert np.allclose(heq[~silent], equalise(mvn.copy(), ~silent)[~silent], atol=1e-3)
    with pytest.raises(ValueError, match="normalisation"):
        FeatureConfig(normalisation="cmn")


def test_equalisation_is_the_interpolated_empirical_distribution():
    """All columns at once give what one np.interp per column gives: ties share
    their highest rank's level, frames outside ``use`` are interpolated."""
    import scipy.special

    rng = np.random.default_rng(3)
    feats = np.round(rng.standard_normal((500, 39)), 1).astype(np.float32)  # many ties
    use = rng.random(500) > 0.2
    got = equalise(feats.copy(), use)
    n = int(use.sum())
    levels = (np.arange(n) + 0.5) / n
    for d in range(feats.shape[1]):
        ranked = np.sort(feats[use, d])
        top = np.searchsorted(ranked, feats[:, d], side="right") - 1  # highest tied rank
        want = np.where(use, levels[np.clip(top, 0, n - 1)],
                        np.interp(feats[:, d], ranked, levels))
        assert np.allclose(got[:, d], scipy.special.ndtri(want), atol=1e-6), d


@needs_train
def test_the_tests_resampler_gives_librosas_samples(timit):
    """The tests resample with soxr (a product dependency), as librosa does by default."""
    import librosa

    y = speech(timit)
    for orig, target in ((16000, 44100), (16000, 8000), (16000 * 1.12, 16000)):
        assert np.array_equal(resample(y, orig, target),
                              librosa.resample(y, orig_sr=orig, target_sr=target))
