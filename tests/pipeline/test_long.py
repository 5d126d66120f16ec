"""Long recordings: the pruned Viterbi, block-wise processing and no drift.

Real speech (timit-dev utterances, concatenated as the long-audio benchmark
does) with hand labels; speed and memory figures are the benchmark's job
(``vowelseg-lab bench-long``), these tests check the properties behind them.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from vowelseg.align.graph import build_graph
from vowelseg.align.search import FrameScorer, frame_emissions
from vowelseg.features.mfcc import features_and_silence, normalisation_spans
from vowelseg.hmm.viterbi import BackPointers, viterbi_blocks
from vowelseg.pipeline import Options, segment
from vowelseg_lab.bench import long as longbench
from vowelseg_lab.bench import metrics as bench
from vowelseg_lab.training.corpus import read_corpus


@pytest.fixture(scope="module")
def corpus(timit):
    return read_corpus(timit)


def test_beam_search_finds_the_exact_viterbi_path_on_real_speech(corpus, resources):
    for utt in corpus[::8]:
        exact = segment(utt.wav, utt.text, resources, Options(beam=np.inf))
        pruned = segment(utt.wav, utt.text, resources)
        assert pruned.phones == exact.phones, utt.utt_id


def test_back_pointers_follow_the_audio_not_the_transcript(corpus, resources):
    """Over a minute of speech the graph has thousands of states; the
    back-pointers kept per frame are a small band of them."""
    samples, transcript, _ = longbench.build_recording(corpus, 60.0, seed=3)
    model = resources.model
    from vowelseg.text.g2p import transcript_words

    words = transcript_words(transcript, resources.lexicon)
    graph = build_graph(words, model)
    feats, silent = features_and_silence(samples / 32768.0, model.features)
    trace: list[BackPointers] = []
    emissions = frame_emissions(FrameScorer(model, feats, silent), None)
    path, _ = viterbi_blocks(graph, emissions, len(feats), block_frames=1000, trace=trace)
    per_frame = sum(b.back.nbytes for b in trace) / len(feats)
    assert graph.n_nodes > 2000
    assert per_frame < graph.n_nodes / 10, (per_frame, graph.n_nodes)
    again, _ = viterbi_blocks(graph, emissions, len(feats), block_frames=37)
    assert np.array_equal(path, again)  # block size changes nothing


def test_recording_made_of_utterances_is_scored_like_the_utterances(corpus, resources):
    """Ten utterances with pauses, aligned as one file, against the same
    utterances aligned one by one (the benchmark's drift measure)."""
    samples, transcript, placements = longbench.build_recording(corpus, 30.0, seed=5)
    for p in placements:
        utt = next(u for u in corpus if u.utt_id == p.utt_id)
        own = sf.read(utt.wav, dtype="int16")[0]
        start = round(p.offset_s * 16000)
        assert np.array_equal(samples[start:start + len(own)], own)
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="WAV")
    seg = segment(buffer.getvalue(), transcript, resources)
    by_id = {u.utt_id: u for u in corpus}
    long = longbench.score_placements(seg, placements, by_id).metrics()
    alone = {p.utt_id: bench.run([by_id[p.utt_id]], lambda u: segment(u.wav, u.text, resources))
             for p in placements}
    single = longbench.pooled(alone, placements).metrics()
    assert long["failed"] == 0
    for key in ("frame_acc3", "vb_f1@20", "pb@20", "wb@50"):
        assert long[key] > single[key] - 0.03, (key, long[key], single[key])
    # nothing is placed in the inserted pauses (digital silence between utterances)
    for p, q in zip(placements, placements[1:], strict=False):
        gap = (p.offset_s + by_id[p.utt_id].duration, q.offset_s)
        inside = [ph for ph in seg.phones
                  if min(ph.end, gap[1]) - max(ph.start, gap[0]) > 0.05]
        assert not inside, (gap, inside)


def test_speech_without_any_pause_still_aligns(corpus, resources):
    """Utterances butted together with their edge silences cut off, VAD off:
    nothing for the aligner to anchor on but the speech itself."""
    parts, texts, refs, offset = [], [], [], 0.0
    for utt in corpus[3:60:7]:
        speech = [(lab, a, b) for lab, a, b in utt.phones if lab not in ("h#",)]
        a, b = speech[0][1], speech[-1][2]
        samples = sf.read(utt.wav, dtype="int16")[0][round(a * 16000):round(b * 16000)]
        parts.append(samples)
        texts.append(utt.text)
        refs.append((utt, a, offset))
        offset += len(samples) / 16000
    buffer = io.BytesIO()
    sf.write(buffer, np.concatenate(parts), 16000, format="WAV")
    seg = segment(buffer.getvalue(), " ".join(texts), resources, Options(use_vad=False))
    errors = []
    for utt, cut_s, start_s in refs:
        ref_words = [(w, a - cut_s + start_s) for w, a, _ in utt.words]
        for word, t in ref_words:
            near = [w for w in seg.words if w.word == word.lower()]
            errors.append(min(abs(w.start - t) for w in near))
    assert np.median(errors) < 0.02
    assert np.mean(np.array(errors) < 0.1) > 0.95  # no utterance lost its place


def test_normalisation_spans_cut_in_pauses_and_join_short_stretches():
    hop = 0.005
    pauses = [(1.0, 1.4), (1.9, 2.1), (5.0, 6.0)]
    spans = normalisation_spans(pauses, total_frames=2000, hop_s=hop, min_span_s=2.0)
    # cuts at 1.2 s, 2.0 s and 5.5 s; 0-1.2 and 1.2-2.0 are short and join
    assert spans == [(0, 400), (400, 1100), (1100, 2000)]
    assert normalisation_spans([], 300, hop) == [(0, 300)]
    assert normalisation_spans([(0.1, 0.5)], 300, hop) == [(0, 300)]  # a short file: one span
