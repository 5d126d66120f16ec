"""The robustness benchmark's conditions on a slice of timit-dev (the full table
is ``vowelseg-lab bench-robust``)."""

from __future__ import annotations

import numpy as np
import pytest
from vowelseg_lab.bench import robust
from vowelseg_lab.training.corpus import read_corpus

from tests.conftest import needs_train


def test_padding_rates_and_a_transcript_word_too_many(timit, resources):
    corpus = read_corpus(timit)[::5]
    results = robust.run(corpus, resources, only=["clean", "44.1 kHz stereo",
                                                  "10 s silence + 10 s noise around",
                                                  "one word inserted"])
    clean = results["clean"].tally.metrics()
    stereo = results["44.1 kHz stereo"].tally.metrics()
    padded = results["10 s silence + 10 s noise around"]
    inserted = results["one word inserted"]
    assert abs(stereo["vb_f1@20"] - clean["vb_f1@20"]) < 0.01
    assert padded.phones_in_padding == 0
    assert padded.tally.metrics()["vb_f1@20"] > clean["vb_f1@20"] - 0.02
    assert inserted.flagged >= 0.9 * inserted.altered
    assert inserted.tally.metrics()["pb@20"] > clean["pb@20"] - 0.03


@needs_train
def test_noisy_training_copies_are_at_the_drawn_snr_and_keep_their_labels(timit, monkeypatch):
    """The recipe's noisy copies (``AdaptConfig.noise``): same labels, noise at an SNR
    inside the range, babble made of other speakers, never of the speaker itself."""
    from vowelseg.features.mfcc import FeatureConfig
    from vowelseg_lab.training import mix
    from vowelseg_lab.training.corpus import speaker_of
    from vowelseg_lab.training.recipe import _with_noise, labelled_examples

    corpus = read_corpus(timit)[::10]
    config = FeatureConfig()
    clean = labelled_examples(corpus[:2], config)
    for kind in ("white", "babble"):
        noisy = labelled_examples(corpus[:2], config, noise=kind, snr_db=(10.0, 10.0))
        for (f0, lab0), (f1, lab1) in zip(clean, noisy, strict=True):
            assert lab0 == lab1 and f0.shape == f1.shape
            assert np.abs(f0 - f1).mean() > 0.05  # the noise shows in the features
    signals = [robust.load(u) for u in corpus]
    rng = np.random.default_rng(0)
    for kind in ("white", "babble"):
        y = _with_noise(signals[0], 0, corpus, signals, kind, 12.5, rng, 16000)
        speech = mix.speech_power(signals[0], corpus[0].phones, 16000)
        noise = mix.speech_power(y - signals[0], [("x", 0.0, 1e9)], 16000)
        assert 10 * np.log10(speech / noise) == pytest.approx(12.5, abs=0.01)
    talkers = []
    monkeypatch.setattr(mix, "babble", lambda ys, n: talkers.extend(ys) or np.ones(n))
    _with_noise(signals[0], 0, corpus, signals, "babble", 10.0, rng, 16000)
    picked = [next(u for u, s in zip(corpus, signals, strict=True) if s is t) for t in talkers]
    assert len(picked) == 4 and speaker_of(corpus[0]) not in map(speaker_of, picked)
    with pytest.raises(ValueError, match="white or babble"):
        _with_noise(signals[0], 0, corpus, signals, "pink", 10.0, rng, 16000)


@pytest.mark.slow
@needs_train
def test_held_out_rounds_score_every_speaker_once(timit):
    """bench-robust on a model fitted to this corpus scores each speaker with a model
    fitted on the others (a tiny recipe here: two speakers, two utterances each)."""
    from vowelseg.hmm.model import SYNTHETIC_MODEL
    from vowelseg_lab.training.corpus import speaker_of
    from vowelseg_lab.training.recipe import AdaptConfig

    by_speaker: dict[str, list] = {}
    for u in read_corpus(timit):
        by_speaker.setdefault(speaker_of(u), []).append(u)
    corpus = [u for group in list(by_speaker.values())[:2] for u in group[:2]]
    config = AdaptConfig(n_iter=1, boundary_shrink=None, noise=("white",))
    results = robust.run_heldout(corpus, SYNTHETIC_MODEL, config,
                                 only=["clean", "nothing changed (false flags)"])
    assert results["clean"].tally.utterances == 4
    control = results["nothing changed (false flags)"]
    assert control.altered == sum(len(u.words) for u in corpus)
    # measured: 13 of the 42 words doubted and vb_f1@20 0.32, from a model fitted
    # in one iteration on two utterances of one other speaker
    assert abs(control.flagged - 13) <= 6
    assert results["clean"].tally.metrics()["vb_f1@20"] == pytest.approx(0.32, abs=0.15)


@needs_train
def test_vtlp_copies_keep_their_labels_and_join_the_recipe(timit, monkeypatch):
    """The recipe's vocal-tract-length-perturbed copies (``AdaptConfig.vtlp_warps``):
    the clean frames analysed through warped mel filters, labels unchanged, one copy per
    factor on top of the speed copies."""
    from vowelseg.features.mfcc import FeatureConfig
    from vowelseg.hmm.model import SYNTHETIC_MODEL, load_model
    from vowelseg_lab.training import recipe as train

    corpus = read_corpus(timit)[:2]
    config = FeatureConfig()
    clean = train.labelled_examples(corpus, config)
    same = train.labelled_examples(corpus, config, warp=1.0)
    for w in (0.9, 1.1):
        warped = train.labelled_examples(corpus, config, warp=w)
        for (f0, lab0), (f1, lab1), (f2, _) in zip(clean, warped, same, strict=True):
            assert lab0 == lab1 and f0.shape == f1.shape
            assert np.array_equal(f0, f2)
            assert np.abs(f0 - f1).mean() > 0.05  # the warp shows in the features
    seen = []

    def stop(prior, examples, config):
        seen.append(len(examples))
        raise RuntimeError("counted")

    monkeypatch.setattr(train, "adapt_model", stop)
    prior = load_model(SYNTHETIC_MODEL)
    for warps in ((), (0.9, 1.1)):
        cfg = train.AdaptConfig(speeds=(0.9, 1.0), vtlp_warps=warps, boundary_shrink=None)
        with pytest.raises(RuntimeError, match="counted"):
            train.fit_to_corpus(prior, corpus, cfg, lexicon=None)
    assert seen == [4, 8]
