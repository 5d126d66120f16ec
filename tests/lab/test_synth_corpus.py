"""The synthetic TIMIT-format corpus: word times from espeak-ng's phones, written
and read back, and usable by the benchmarks (the mismatch penalties were chosen
on one)."""

from __future__ import annotations

import numpy as np
from vowelseg_lab.bench import robust
from vowelseg_lab.training.corpus import read_corpus, write_corpus
from vowelseg_lab.training.synth import synthesize, word_spans

from tests.conftest import needs_train


def test_word_spans_partition_the_spoken_phones(voices):
    words = "rice is often served in round bowls".split()
    speech = synthesize(" ".join(words), voices[0], rate_wpm=170)
    spans = word_spans(speech, words, rate_wpm=170)
    assert spans is not None and [w for w, _, _ in spans] == words
    spoken = [(a, b) for p, a, b in speech.phones if p != "SIL"]
    starts = {a for a, _ in spoken}
    ends = {b for _, b in spoken}
    for (_, a, b), (_, c, _) in zip(spans, spans[1:] + [("", np.inf, 0)], strict=True):
        assert a in starts and b in ends and a < b <= c
    assert spans[0][1] == spoken[0][0] and spans[-1][2] == spoken[-1][1]
    # "rice" is R AY S: three phones, about a quarter of a second at this rate
    assert 0.15 < spans[0][2] - spans[0][1] < 0.45
    assert sum(1 for a, b in spoken if spans[0][1] <= a < spans[0][2]) == 3


@needs_train
def test_a_written_corpus_reads_back_and_aligns_word_by_word(voices, tmp_path, resources):
    from vowelseg_lab.training.recipe import labelled_corpus

    n = write_corpus(tmp_path, labelled_corpus(4, seed=5))
    utts = read_corpus(tmp_path)
    assert n == len(utts) == 4
    for u in utts:
        assert [w for w, _, _ in u.words] == [t.strip(",.").lower() for t in u.text.split()]
        assert u.phones[0][0] == "h#" and u.phones[-1][0] == "h#"
        assert abs(u.phones[-1][2] - u.duration) < 1e-3
    out = robust.run(utts, resources, only=["clean", "one word inserted"])
    metrics = out["clean"].tally.metrics()
    # the bundled model on MBROLA speech: words within 50 ms of the synthesiser's
    # times in most cases (wb@50 0.835 on 200 utterances: `vowelseg-lab synth-corpus`, then
    # `vowelseg-lab bench --corpus` on it)
    assert metrics["wb@50"] > 0.6 and metrics["failed"] == 0
    assert out["one word inserted"].flagged >= 2


@needs_train
def test_bench_robust_runs_on_a_synthetic_corpus_with_chosen_penalties(voices, tmp_path, capsys,
                                                                     monkeypatch):
    from vowelseg.align.graph import Mismatch
    from vowelseg_lab.bench import robust
    from vowelseg_lab.cli import main
    from vowelseg_lab.training.recipe import labelled_corpus

    write_corpus(tmp_path, labelled_corpus(3, seed=7))
    seen, real_run = [], robust.run

    def run(*args, **kwargs):
        seen.append(kwargs["mismatch"])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(robust, "run", run)
    flagged = []
    for extra in (["--skip-logp", "-60"],
                  ["--skip-logp", "-1000", "--filler-entry-logp", "-1000",
                   "--filler-frame-logp", "-3"]):
        assert main(["bench-robust", "--corpus", str(tmp_path), "--only", "clean",
                     "one word inserted", *extra]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines()
                   if line.startswith("one word inserted"))
        flagged.append(int(row.split("%")[0].split()[-1]))
    assert seen == [Mismatch(-60.0, -20.0, -6.0), Mismatch(-1000.0, -1000.0, -3.0)]
    # skippable, the unspoken words come back found: false (measured 100 %)
    assert flagged[0] >= 90
