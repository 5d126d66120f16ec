"""Boundaries at their posterior mean on the aligned path (vowelseg.boundaries.posterior)."""

from __future__ import annotations

import numpy as np
import pytest
from vowelseg.align.graph import build_graph, path_segments
from vowelseg.boundaries.posterior import boundary_posteriors, crossing_moments
from vowelseg.hmm.model import SYNTHETIC_MODEL
from vowelseg.hmm.viterbi import viterbi
from vowelseg.pipeline import Options, load_resources, segment
from vowelseg.text.g2p import Word
from vowelseg_lab.bench import metrics as bench
from vowelseg_lab.training.corpus import fold_hypothesis

from tests.conftest import wav_bytes

STAY = np.log([0.9, 0.9])
LEAVE = np.log([0.1, 0.1])


def test_crossing_follows_the_evidence():
    # 30 frames: the first 12 fit state 0 far better, the rest state 1
    emit = np.zeros((30, 2))
    emit[:12, 1] = emit[12:, 0] = -8.0
    assert crossing_moments(emit, STAY, LEAVE, 0)[0] == pytest.approx(12.0, abs=0.01)


def test_crossing_without_evidence_is_the_middle_and_weak_evidence_pulls_part_way():
    flat = np.zeros((31, 2))  # pinned at both ends, every crossing frame equally likely
    assert crossing_moments(flat, STAY, LEAVE, 0)[0] == pytest.approx(15.5, abs=0.01)
    weak = flat.copy()
    weak[:8, 1] = weak[8:, 0] = -0.1  # evidence too weak to decide alone
    assert 8.0 < crossing_moments(weak, STAY, LEAVE, 0)[0] < 15.5


def test_a_chain_that_cannot_fit_says_so():
    emit = np.zeros((5, 2))
    emit[:, 1] = -np.inf  # state 1 may not occupy any frame, yet must end the chain
    assert crossing_moments(emit, STAY, LEAVE, 0)[0] == -1.0


def test_windows_stay_within_reach_of_the_boundary_around_a_long_pause():
    from tests.align.test_search import loglik_for, toy_model

    model = toy_model()
    words = [Word("read", (("R", "IY1", "D"),), "cmudict"),
             Word("it", (("IH1", "T"),), "cmudict")]
    graph = build_graph(words, model)
    truth = [("SIL", 6), ("R", 6), ("IY", 9), ("D", 6), ("SIL", 3000), ("IH", 9), ("T", 6)]
    loglik = loglik_for(truth)
    path, _ = viterbi(graph, loglik)
    asked = []

    def emissions(first, end, columns):
        asked.append(end - first)
        return loglik[first:end][:, columns]

    starts = boundary_posteriors(graph, path, emissions, scale=1.0, reach_frames=50)[0]
    assert max(asked) <= 100 and len(asked) == 6
    # evidence this sharp leaves every boundary where the path put it
    edges = [a for _, a, _ in path_segments(graph, path)]
    np.testing.assert_allclose(starts, edges, atol=0.01)


@pytest.fixture(scope="module")
def synthetic_model():
    return load_resources(SYNTHETIC_MODEL)


def merged_pauses(phones):
    out = []
    for label, start, end in phones:
        if out and label == out[-1][0] == "SIL":
            out[-1] = ("SIL", out[-1][1], end)
        else:
            out.append((label, start, end))
    return out


def boundary_mae_ms(synthetic, resources, options: Options) -> float:
    errors = []
    for text, speech in synthetic:
        seg = segment(wav_bytes(speech.samples, speech.sample_rate), text, resources, options)
        phones = [(p.phone, p.start, p.end) for p in seg.phones]
        assert all(a[2] <= b[1] + 1e-9 for a, b in zip(phones, phones[1:], strict=False))
        assert all(s < e for _, s, e in phones)
        ref = merged_pauses(speech.phones)
        hyp = fold_hypothesis(seg, len(speech.samples) / speech.sample_rate)
        errors += [e for e in bench.phone_boundary_errors(ref, hyp) if e is not None]
    return 1000 * float(np.mean(errors))


def test_posterior_boundaries_are_closer_to_exact_labels_than_the_paths(synthetic,
                                                                        synthetic_model):
    viterbi = boundary_mae_ms(synthetic, synthetic_model, Options(boundaries="viterbi"))
    posterior = boundary_mae_ms(synthetic, synthetic_model, Options())
    print(f"phone-boundary MAE: Viterbi {viterbi:.1f} ms, posterior {posterior:.1f} ms")
    assert posterior < viterbi - 0.3


def test_short_recordings_reuse_the_search_scores(synthetic, monkeypatch):
    """The posterior reads the state scores the Viterbi search already computed
    (one scoring per block, not two) and places every boundary where it did when it
    scored them again."""
    from vowelseg.align import alignment, search

    text, speech = synthetic[0]
    audio = wav_bytes(speech.samples, speech.sample_rate)
    calls = []
    scorer = search.frame_emissions

    def counting(*args, **kwargs):
        frames = scorer(*args, **kwargs)
        return lambda first, last: calls.append((first, last)) or frames(first, last)

    monkeypatch.setattr(search, "frame_emissions", counting)
    reused = segment(audio, text)
    assert len(calls) == 1
    monkeypatch.setattr(alignment, "KEEP_SCORES_FRAMES", 0)
    scored_again = segment(audio, text)
    assert len(calls) == 3
    assert reused.phones == scored_again.phones
