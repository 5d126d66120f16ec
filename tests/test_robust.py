"""The robustness benchmark's conditions on a slice of timit-dev (the full table
is ``vowelseg bench-robust``)."""

from __future__ import annotations

from app import robust
from app.corpus import read_corpus


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
