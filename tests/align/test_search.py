"""The alignment graph and Viterbi on hand-made likelihoods with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from vowelseg.align.graph import build_graph, path_segments
from vowelseg.errors import AlignmentError
from vowelseg.features.mfcc import FeatureConfig
from vowelseg.hmm.model import AcousticModel
from vowelseg.hmm.viterbi import viterbi
from vowelseg.phones import PHONES
from vowelseg.text.g2p import Word

from tests.conftest import needs_train

N_STATES = 3


def toy_model() -> AcousticModel:
    shape = (len(PHONES), N_STATES, 1)
    return AcousticModel(PHONES, np.ones(shape), np.zeros(shape + (1,)), np.ones(shape + (1,)),
                         np.full((len(PHONES), N_STATES), np.log(0.5)), FeatureConfig())


def loglik_for(sequence: list[tuple[str, int]]) -> np.ndarray:
    """Frames that strongly favour the given phones for the given frame counts."""
    rows = []
    for phone, frames in sequence:
        p = PHONES.index(phone)
        for f in range(frames):
            row = np.full(len(PHONES) * N_STATES, -50.0)
            row[p * N_STATES + min(N_STATES - 1, f * N_STATES // frames)] = 0.0
            rows.append(row)
    return np.array(rows)


def test_viterbi_picks_the_spoken_variant_and_the_optional_pauses():
    model = toy_model()
    words = [Word("read", (("R", "EH1", "D"), ("R", "IY1", "D")), "cmudict"),
             Word("it", (("IH1", "T"),), "cmudict")]
    graph = build_graph(words, model)
    truth = [("SIL", 6), ("R", 6), ("IY", 9), ("D", 6), ("SIL", 12), ("IH", 9), ("T", 6)]
    path, score = viterbi(graph, loglik_for(truth))
    got = [(graph.slots[s].phone, b - a) for s, a, b in path_segments(graph, path)]
    assert got == [("SIL", 6), ("R", 6), ("IY1", 9), ("D", 6), ("SIL", 12), ("IH1", 9), ("T", 6)]
    assert np.isfinite(score)


def test_too_few_frames_for_the_transcript_is_an_alignment_error():
    model = toy_model()
    graph = build_graph([Word("cat", (("K", "AE1", "T"),), "cmudict")], model)
    with pytest.raises(AlignmentError):
        viterbi(graph, loglik_for([("K", 4)]))  # 4 frames < 3 phones x 3 states


def test_an_unspoken_word_is_skipped_and_untranscribed_speech_is_absorbed():
    from vowelseg.align.graph import GARBAGE, Mismatch
    from vowelseg.align.search import with_garbage

    model = toy_model()
    words = [Word("a", (("K",),), "cmudict"), Word("b", (("T",),), "cmudict"),
             Word("c", (("S",),), "cmudict")]
    tolerant = Mismatch(skip_logp=-30.0, garbage_entry_logp=-10.0, garbage_frame_logp=-8.0)
    graph = build_graph(words, model, mismatch=tolerant)
    # "b" is in the transcript but not spoken: K then S
    spoken = with_garbage(loglik_for([("K", 9), ("S", 9)]), model, -8.0)
    path, _ = viterbi(graph, spoken)
    got = [graph.slots[s].phone for s, _, _ in path_segments(graph, path)]
    assert got == ["K", "S"]
    # speech between "a" and "b" that the transcript lacks (an AA) goes to the filler
    extra = with_garbage(loglik_for([("K", 9), ("AA", 30), ("T", 9), ("S", 9)]), model, -8.0)
    path, _ = viterbi(graph, extra)
    got = [graph.slots[s].phone for s, _, _ in path_segments(graph, path)]
    assert got == ["K", GARBAGE, "T", "S"]
    # a strict graph has neither: "b" is forced in somewhere
    strict = build_graph(words, model)
    assert GARBAGE not in {s.phone for s in strict.slots}
    path, _ = viterbi(strict, loglik_for([("K", 9), ("S", 9)]))
    assert [strict.slots[s].phone for s, _, _ in path_segments(strict, path)] == ["K", "T", "S"]


@pytest.mark.parametrize("spoken, expected", [
    # untranscribed speech before the first word, after a leading pause
    ([("SIL", 9), ("AA", 30), ("K", 9), ("T", 9), ("S", 9)], ["SIL", "*", "K", "T", "S"]),
    # ... after the last word, before a trailing pause
    ([("K", 9), ("T", 9), ("S", 9), ("AA", 30), ("SIL", 9)], ["K", "T", "S", "*", "SIL"]),
    # ... between a pause and the next word, and between the word and a pause
    ([("K", 9), ("SIL", 9), ("AA", 30), ("T", 9), ("S", 9)], ["K", "SIL", "*", "T", "S"]),
    ([("K", 9), ("AA", 30), ("SIL", 9), ("T", 9), ("S", 9)], ["K", "*", "SIL", "T", "S"]),
])
def test_untranscribed_speech_is_absorbed_at_the_ends_and_next_to_pauses(spoken, expected):
    from vowelseg.align.graph import GARBAGE, Mismatch
    from vowelseg.align.search import with_garbage

    model = toy_model()
    words = [Word("a", (("K",),), "cmudict"), Word("b", (("T",),), "cmudict"),
             Word("c", (("S",),), "cmudict")]
    graph = build_graph(words, model, mismatch=Mismatch(-30.0, -10.0, -8.0))
    path, _ = viterbi(graph, with_garbage(loglik_for(spoken), model, -8.0))
    got = [graph.slots[s].phone for s, _, _ in path_segments(graph, path)]
    assert got == [GARBAGE if p == "*" else p for p in expected]


def test_a_phone_is_never_aligned_shorter_than_its_minimum_duration():
    import dataclasses

    # the frames favour a 4-frame IH between two 12-frame Ts; the model says IH
    # lasts at least 40 ms (8 frames at 5 ms), so the IH takes 8 frames from the Ts
    model = dataclasses.replace(toy_model(), min_durations_s={"IH": 0.04})
    words = [Word("tit", (("T", "IH1", "T"),), "cmudict")]
    loglik = loglik_for([("T", 12), ("IH", 4), ("T", 12)])
    got = {}
    for minimum in (False, True):
        graph = build_graph(words, model, min_durations=minimum)
        path, _ = viterbi(graph, loglik)
        got[minimum] = [(graph.slots[s].phone, b - a) for s, a, b in path_segments(graph, path)]
    assert got[False] == [("T", 12), ("IH1", 4), ("T", 12)]
    assert [p for p, _ in got[True]] == ["T", "IH1", "T"]
    assert dict((p, n) for p, n in got[True] if p == "IH1") == {"IH1": 8}
    assert sum(n for _, n in got[True]) == 28
    # 8 frames over 3 states: 3 + 3 + 2 nodes, the copies before each last without a self-loop
    graph = build_graph(words, model)
    ih = np.flatnonzero([graph.slots[s].phone == "IH1" for s in graph.node_slot])
    assert len(ih) == 8
    assert np.isneginf(graph.stay[ih]).sum() == 5
    # a phone without a minimum keeps one node per state
    assert (np.array([graph.slots[s].phone for s in graph.node_slot]) == "T").sum() == 2 * N_STATES


def test_speech_too_fast_for_the_minimum_durations_is_aligned_without_them(monkeypatch):
    import dataclasses

    import vowelseg.align.search as search
    from vowelseg.align.graph import STRICT

    model = dataclasses.replace(toy_model(), min_durations_s={"IH": 0.2})  # 40 frames
    words = [Word("tit", (("T", "IH1", "T"),), "cmudict")]
    builders = search.graph_builders(words, model, STRICT)
    assert len(builders) == 2  # with the minimum durations, then without
    # the frames are the state log-likelihoods themselves
    monkeypatch.setattr(search, "state_log_likelihoods", lambda m, f: f.astype(np.float32))
    loglik = loglik_for([("T", 6), ("IH", 6), ("T", 6)])  # 18 frames: too few for IH's 40
    graph, path, _ = search.align_frames(builders, search.FrameScorer(model, loglik), None)
    assert graph is builders[1]()  # built once, kept
    got = [(graph.slots[s].phone, b - a) for s, a, b in path_segments(graph, path)]
    assert got == [("T", 6), ("IH1", 6), ("T", 6)]


@needs_train
def test_minimum_durations_are_a_low_percentile_of_the_labelled_ones_pauses_excepted(tmp_path):
    import dataclasses

    from vowelseg.hmm.model import load_model, save_model
    from vowelseg_lab.training.recipe import learn_min_durations

    feats = np.zeros((400, 1))
    # AE lasts 10, 20, ..., 200 frames; the pause 1 frame
    segments = [("SIL", 0, 1)] + [("AE", 0, 10 * k) for k in range(1, 21)]
    got = learn_min_durations([(feats, segments)], 5.0, 0.005)
    assert got == {"AE": 0.095}  # 5th percentile of 10..200 frames: 19.5, rounded down to 19
    save_model(dataclasses.replace(toy_model(), min_durations_s=got), tmp_path / "m")
    model = load_model(tmp_path / "m")
    assert model.min_durations_s == got and model.min_frames("AE") == 19
    assert model.min_frames("T") == N_STATES
