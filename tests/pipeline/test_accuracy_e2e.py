"""End to end through HTTP on real audio, scored with the benchmark's own measure.

Thresholds sit a few points under the figures measured with the bundled recipe,
so a regression in any stage fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from vowelseg.hmm.model import SYNTHETIC_MODEL, load_model, save_model
from vowelseg.phones import phone_class
from vowelseg.result import PhoneInterval, Segmentation, WordInterval
from vowelseg.service.api import create_app
from vowelseg.service.settings import ServiceSettings
from vowelseg_lab.bench import metrics as bench
from vowelseg_lab.training import corpus

from tests.conftest import needs_train, wav_bytes


def reply_to_segmentation(body: dict) -> Segmentation:
    words = [WordInterval(w["word"], w["start"], w["end"], tuple(w["pronunciation"]), w["source"])
             for w in body["words"]]
    phones = [PhoneInterval(p["phone"], p["start"], p["end"], p["class"], p["word"])
              for p in body["phones"]]
    return Segmentation(body["duration"], body["sample_rate"], words, phones,
                        [(p["start"], p["end"]) for p in body["pauses"]])


def segment_over_http(client, data: bytes, transcript: str) -> Segmentation:
    reply = client.post("/segment", files={"audio": ("x.wav", data, "audio/wav")},
                        data={"transcript": transcript})
    assert reply.status_code == 200, reply.text
    return reply_to_segmentation(reply.json())


def synthetic_scores(client, synthetic) -> dict[str, float]:
    """Frame accuracy and vowel-boundary F1 against the exact MBROLA labels."""
    right = total = 0
    counts = np.zeros(3)
    for text, speech in synthetic:
        seg = segment_over_http(client, wav_bytes(speech.samples, speech.sample_rate), text)
        ref = [(phone_class(p), s, e) for p, s, e in speech.phones]
        hyp = bench.hyp_intervals(seg)
        duration = len(speech.samples) / speech.sample_rate
        rc, hc = bench.frame_classes(ref, duration), bench.frame_classes(hyp, duration)
        right += int((rc == hc).sum())
        total += len(rc)
        counts += bench.vowel_boundary_counts(ref, hyp, 0.020)
    return {"frame_acc3": right / total, "vb_f1@20": 2 * counts[0] / (counts[1] + counts[2])}


def test_mbrola_sentences_vowel_boundaries(client, synthetic):
    scores = synthetic_scores(client, synthetic)
    print(scores)
    # The bundled model is trained on real speech; on MBROLA audio it measured
    # frame_acc3 0.836, vb_f1@20 0.651 (with the path's frame edges 0.838, 0.706: it
    # puts MBROLA's vowel offsets late, and the posterior a little later; README,
    # Accuracy). The synthetic-only model: 0.941, 0.936 (frame edges 0.942, 0.936).
    assert scores["frame_acc3"] >= 0.80
    assert scores["vb_f1@20"] >= 0.62


@pytest.fixture(scope="module")
def heldout_client(timit, resources, tmp_path_factory):
    """The service on a model fitted by the bundled model's own recipe (read from its
    card) on 7 timit-dev speakers, with the 8th speaker's 10 utterances to test on."""
    from vowelseg_lab.training.recipe import AdaptConfig, fit_to_corpus

    utterances = corpus.read_corpus(timit)
    held_out = sorted({corpus.speaker_of(u) for u in utterances})[-1]
    train = [u for u in utterances if corpus.speaker_of(u) != held_out]
    prior = load_model(SYNTHETIC_MODEL)
    config = AdaptConfig.from_dict(resources.model.card["adapt_config"])
    adapted = fit_to_corpus(prior, train, config, resources.lexicon)
    path = tmp_path_factory.mktemp("model") / "heldout"
    save_model(adapted, path)
    test = [u for u in utterances if corpus.speaker_of(u) == held_out]
    with TestClient(create_app(ServiceSettings(model=str(path)))) as client:
        yield client, test


@pytest.mark.slow
@needs_train
def test_timit_dev_held_out_speaker_through_http(heldout_client):
    client, test = heldout_client
    tally = bench.Tally()
    for utt in test:
        tally.add(utt, segment_over_http(client, utt.wav.read_bytes(), utt.text))
    m = tally.metrics()
    print({k: round(v, 3) for k, v in m.items()})
    assert m["failed"] == 0 and m["utterances"] == 10
    # measured: frame_acc3 0.878, vowel_f1 0.906, vb_f1@20 0.910, pb@20 0.812, word MAE 15.4 ms
    assert m["frame_acc3"] >= 0.85
    assert m["vowel_f1"] >= 0.87
    assert m["vb_f1@20"] >= 0.86
    assert m["pb@20"] >= 0.77
    assert m["word_mae_ms"] <= 18
