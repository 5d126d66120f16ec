"""The alignment graph and Viterbi on hand-made likelihoods with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from app.align import build_graph, path_segments, viterbi
from app.errors import AlignmentError
from app.features import FeatureConfig
from app.g2p import Word
from app.model import AcousticModel
from app.phones import PHONES

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
