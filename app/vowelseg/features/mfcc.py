"""Acoustic features: one function for training and inference alike.

Frame ``t`` is centred at ``t * hop_s`` seconds (librosa's ``center=True``),
so it stands for the interval ``[(t - 0.5) * hop_s, (t + 0.5) * hop_s)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numba
import numpy as np
import scipy.fft
import scipy.special

ANALYSIS_RATE = 16000
#: Frames whose spectrum is computed at a time (memory stays proportional to the output).
BLOCK_FRAMES = 8192
#: Per-utterance feature normalisations (``FeatureConfig.normalisation``).
NORMALISATIONS = ("mvn", "heq")


@dataclass(frozen=True)
class FeatureConfig:
    """MFCC settings; stored with every model so inference matches training.

    Attributes
    ----------
    sample_rate : int
        Rate of the analysis signal, Hz.
    hop_s : float
        Frame shift, seconds.
    win_s : float
        Analysis window length, seconds.
    n_mfcc : int
        Cepstral coefficients, including c0.
    n_mels : int
        Mel filters.
    fmin_hz, fmax_hz : float
        Mel filterbank range, Hz.
    delta_width : int
        Frames in the delta regression window (odd).
    floor_db : float
        Mel power floor below the signal's peak, dB (hides digital silence).
    normalisation : str
        Per utterance (or span), each feature column is ``"mvn"``: shifted
        and scaled to zero mean and unit variance (:func:`normalise`), or
        ``"heq"``: mapped through its own distribution onto a standard
        normal (histogram equalisation, :func:`equalise`; the default model's,
        measured better held out in clean speech and in noise,
        docs/experiments.md).
    """

    sample_rate: int = ANALYSIS_RATE
    hop_s: float = 0.005
    win_s: float = 0.025
    n_mfcc: int = 13
    n_mels: int = 40
    fmin_hz: float = 60.0
    fmax_hz: float = 7600.0
    delta_width: int = 9
    floor_db: float = 80.0
    normalisation: str = "mvn"

    def __post_init__(self) -> None:
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {self.normalisation!r}: "
                             f"use one of {', '.join(NORMALISATIONS)}")

    @property
    def hop_length(self) -> int:
        """Frame shift in samples."""
        return int(round(self.hop_s * self.sample_rate))

    @property
    def dim(self) -> int:
        """Feature vector length (MFCC + deltas + delta-deltas)."""
        return 3 * self.n_mfcc

    def to_dict(self) -> dict:
        """Plain-dict form for JSON model files."""
        return asdict(self)


def n_frames(n_samples: int, config: FeatureConfig) -> int:
    """Number of feature frames for a signal of ``n_samples`` samples."""
    return 1 + n_samples // config.hop_length


@functools.lru_cache(maxsize=8)
def analysis_window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``win_length`` samples centred in ``n_fft`` zeros
    (librosa's ``stft`` window, ``scipy.signal.get_window("hann", win_length)``),
    float32; computed once per size."""
    window = np.hanning(win_length + 1)[:-1]  # periodic: the symmetric one of N + 1, cut
    left = (n_fft - win_length) // 2
    window = np.pad(window, (left, n_fft - win_length - left)).astype(np.float32)
    window.flags.writeable = False
    return window


def warp_hz(hz: np.ndarray, warp: float, fmax_hz: float, cutoff: float = 0.8) -> np.ndarray:
    """Piecewise-linear frequency warp for vocal-tract-length normalisation.

    Frequencies up to a knee are scaled by ``warp``; above it a straight line
    takes the knee's image to ``fmax_hz``, which stays put, so no filter falls
    off the band. The knee sits at ``cutoff * fmax_hz / max(1, warp)``.
    ``warp`` > 1 moves the filters up (for voices with higher formants than
    the model's), < 1 down; 1 is the identity.
    """
    hz = np.asarray(hz, dtype=np.float64)
    knee = cutoff * fmax_hz / max(1.0, warp)
    upper = warp * knee + (hz - knee) * (fmax_hz - warp * knee) / (fmax_hz - knee)
    return np.where(hz <= knee, warp * hz, upper)


@functools.lru_cache(maxsize=64)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin_hz: float,
                   fmax_hz: float, warp: float = 1.0) -> np.ndarray:
    """Triangular Slaney-normalised mel filters, ``(n_mels, n_fft // 2 + 1)`` float32,
    their edges moved by :func:`warp_hz` when ``warp`` is not 1; computed once
    per configuration and warp.

    Unwarped, these are ``librosa.filters.mel`` with its defaults (a test checks
    it). They are built here rather than taken from librosa because VTLN needs
    the filters' edges warped, which librosa's function does not offer, and
    because loading librosa would add its import to every server's start.
    """
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = _slaney_mel_to_hz(np.linspace(_slaney_hz_to_mel(fmin_hz),
                                          _slaney_hz_to_mel(fmax_hz), n_mels + 2))
    if warp != 1.0:
        edges = warp_hz(edges, warp, fmax_hz)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def _slaney_hz_to_mel(hz: float) -> float:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    if hz < 1000.0:
        return hz / (200.0 / 3)
    return 15.0 + float(np.log(hz / 1000.0)) / (np.log(6.4) / 27.0)


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_slaney_hz_to_mel`, for an array of mels."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log, linear)


@functools.lru_cache(maxsize=8)
def delta_weights(width: int, order: int) -> np.ndarray:
    """Savitzky-Golay weights giving the ``order``-th derivative at a window's
    centre from a degree-``order`` polynomial fit over ``width`` frames, first
    frame first: ``scipy.signal.savgol_coeffs(width, order, deriv=order,
    use="dot")``, what ``librosa.feature.delta`` applies (a test checks both).

    Written out (a least-squares fit, two lines) because importing
    ``scipy.signal``, which loads ``scipy.stats``, for it made every server's
    cold start most of a second longer (docs/experiments.md, Speed).
    """
    offsets = np.arange(width) - width // 2
    design = np.vander(offsets, order + 1, increasing=True).astype(np.float64)
    weights = math.factorial(order) * np.linalg.pinv(design)[order]
    weights.flags.writeable = False
    return weights


def delta(feats: np.ndarray, width: int, order: int) -> np.ndarray:
    """Local ``order``-th derivative along the last axis (edges repeated), as
    ``librosa.feature.delta(..., mode="nearest")``."""
    weights = delta_weights(width, order).astype(feats.dtype)
    half = width // 2
    padded = np.pad(feats, [(0, 0)] * (feats.ndim - 1) + [(half, half)], mode="edge")
    out = np.zeros_like(feats)
    n = feats.shape[-1]
    for j, w in enumerate(weights):
        out += w * padded[..., j:j + n]
    return out


def _stft_geometry(config: FeatureConfig) -> tuple[int, int]:
    """Window length and FFT size, samples."""
    win_length = int(round(config.win_s * config.sample_rate))
    return win_length, int(2 ** np.ceil(np.log2(win_length)))


def _power_blocks(samples: np.ndarray, config: FeatureConfig,
                  block_frames: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """The power spectrogram ``block_frames`` frames at a time: ``(first, last,
    power)`` with ``power`` of shape ``(last - first, n_fft // 2 + 1)`` float32;
    frame ``t`` is centred on sample ``t * hop`` (librosa's ``center=True``, zeros)."""
    y = np.asarray(samples, dtype=np.float32)
    win_length, n_fft = _stft_geometry(config)
    hop = config.hop_length
    total = n_frames(len(y), config)
    half = n_fft // 2
    window = analysis_window(win_length, n_fft)
    for first in range(0, total, block_frames):
        last = min(total, first + block_frames)
        a, b = first * hop - half, (last - 1) * hop + n_fft - half
        chunk = y[max(0, a):min(len(y), b)]
        if a < 0 or b > len(y):
            chunk = np.pad(chunk, (max(0, -a), max(0, b - len(y))))
        frames = np.lib.stride_tricks.sliding_window_view(chunk, n_fft)[::hop]
        spec = scipy.fft.rfft(frames * window, axis=1)
        power = spec.real ** 2 + spec.imag ** 2
        del chunk, frames, spec  # not held while the caller uses this block and the next is made
        yield first, last, power


def power_spectrogram(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The power spectrogram :func:`log_mel` starts from, ``(n_frames, n_fft // 2 + 1)``
    float32: computed once, it serves every warp VTLN tries (``power=``)."""
    blocks = [power for _, _, power in _power_blocks(samples, config, BLOCK_FRAMES)]
    return np.concatenate(blocks) if blocks else np.zeros(
        (0, _stft_geometry(config)[1] // 2 + 1), dtype=np.float32)


def log_mel(samples: np.ndarray, config: FeatureConfig,
            block_frames: int = BLOCK_FRAMES,
            spans: list[tuple[int, int]] | None = None, warp: float = 1.0,
            power: np.ndarray | None = None) -> np.ndarray:
    """Log mel power spectrogram, shape ``(n_mels, n_frames)``.

    The power is floored ``config.floor_db`` below its peak, so digital
    silence and low noise look alike; with ``spans`` (frame ranges covering
    the signal), below each span's own peak, so a loud sound in one stretch
    of a long recording does not change the floor of the others. The
    spectrum is computed ``block_frames`` frames at a time, so memory stays
    proportional to the output (the same values as one pass over the whole
    signal). ``warp`` moves the mel filters (:func:`warp_hz`). ``power``, the
    signal's :func:`power_spectrogram` if already computed, saves the FFTs.
    """
    n_fft = _stft_geometry(config)[1]
    fb = mel_filterbank(config.sample_rate, n_fft, config.n_mels, config.fmin_hz, config.fmax_hz,
                        warp)
    if power is not None:
        mel = fb @ power.T
        total = mel.shape[1]
    else:
        total = n_frames(len(samples), config)
        mel = np.empty((config.n_mels, total), dtype=np.float32)
        for first, last, block in _power_blocks(samples, config, block_frames):
            mel[:, first:last] = fb @ block.T
    for first, end in spans or [(0, total)]:
        part = mel[:, first:end]
        floor = max(float(part.max(initial=0.0)), 1e-20) * 10.0 ** (-config.floor_db / 10.0)
        np.maximum(part, floor, out=part)
    return np.log(mel, out=mel)


def mfcc_features(samples: np.ndarray, config: FeatureConfig,
                  spans: list[tuple[int, int]] | None = None, warp: float = 1.0) -> np.ndarray:
    """MFCC + deltas + delta-deltas, normalised per utterance (or per span);
    :func:`features_and_silence` without the silence mask."""
    return features_and_silence(samples, config, spans, warp=warp)[0]


def features_and_silence(samples: np.ndarray, config: FeatureConfig,
                         spans: list[tuple[int, int]] | None = None,
                         exclude: np.ndarray | None = None,
                         warp: float = 1.0, static: list | None = None,
                         power: np.ndarray | None = None,
                         ) -> tuple[np.ndarray, np.ndarray]:
    """MFCC + deltas + delta-deltas, normalised per utterance (or per span),
    and which frames are digital silence.

    Parameters
    ----------
    samples : np.ndarray
        Mono signal at ``config.sample_rate``, float in [-1, 1].
    config : FeatureConfig
        Feature settings (``config.normalisation`` picks :func:`normalise`
        or :func:`equalise`).
    spans : list of (first_frame, end_frame), optional
        Stretches floored and normalised separately (:func:`normalisation_spans`,
        for long recordings with many speakers or rooms); the whole signal is
        one span by default.
    exclude : np.ndarray, optional
        Frames (bool) left out of the statistics, e.g. the VAD's pauses, whose
        noise would otherwise move the speech's features.
    warp : float
        Vocal-tract-length warp of the mel filters (:func:`warp_hz`); 1 for none.
    static : list, optional
        If given, the MFCC before normalisation, ``(n_frames, n_mfcc)`` float32,
        is appended to it (the boundary model reads spectral change off them:
        normalisation, histogram equalisation above all, distorts distances).
    power : np.ndarray, optional
        The signal's :func:`power_spectrogram`, if already computed.

    Returns
    -------
    feats : np.ndarray
        ``(n_frames, 3 * n_mfcc)`` float32; each column has zero mean and
        unit variance (``"heq"``: a standard normal distribution) over each
        span's frames that are neither digital silence nor in ``exclude``.
    silent : np.ndarray
        ``(n_frames,)`` bool: every mel band at the power floor.
    """
    spans = spans or [(0, n_frames(len(samples), config))]
    mel = log_mel(samples, config, spans=spans, warp=warp, power=power)
    silent = np.zeros(mel.shape[1], dtype=bool)
    for first, end in spans:
        silent[first:end] = silent_frames(mel[:, first:end])
    mfcc = dct_basis(config.n_mels, config.n_mfcc) @ mel  # librosa's mfcc (DCT-II, ortho)
    del mel
    width = config.delta_width
    if mfcc.shape[1] < width:
        width = max(3, mfcc.shape[1] // 2 * 2 - 1)
    n = config.n_mfcc
    feats = np.zeros((mfcc.shape[1], 3 * n), dtype=np.float32)
    feats[:, :n] = mfcc.T
    if static is not None:
        static.append(feats[:, :n].copy())
    if mfcc.shape[1] >= 3:
        for order in (1, 2):
            feats[:, order * n:(order + 1) * n] = delta(mfcc, width, order).T
    del mfcc
    use = ~silent if exclude is None else ~silent & ~exclude
    method = equalise if config.normalisation == "heq" else normalise
    for first, end in spans:
        method(feats[first:end], use[first:end])
    return feats, silent


def silent_frames(log_mel_power: np.ndarray) -> np.ndarray:
    """Frames whose every mel band sits at the power floor (digital silence)."""
    if not log_mel_power.size:
        return np.zeros(log_mel_power.shape[1], dtype=bool)
    floor = log_mel_power.min()
    return (log_mel_power <= floor + 1e-6).all(axis=0)


def normalisation_spans(pauses_s: list[tuple[float, float]], total_frames: int, hop_s: float,
                        min_span_s: float = 2.0) -> list[tuple[int, int]]:
    """Stretches of a recording to normalise separately, cut in the middle of its
    pauses; a stretch shorter than ``min_span_s`` joins its shorter neighbour.

    Parameters
    ----------
    pauses_s : list of (start_s, end_s)
        Pauses, e.g. from :func:`vowelseg.audio.vad.find_pauses`.
    total_frames : int
        Frames in the recording.
    hop_s : float
        Frame shift, seconds.
    min_span_s : float
        Shortest stretch, seconds.
    """
    cuts = sorted({int(round((a + b) / 2 / hop_s)) for a, b in pauses_s})
    bounds = [0] + [c for c in cuts if 0 < c < total_frames] + [total_frames]
    spans = [[a, b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    shortest = min_span_s / hop_s
    while len(spans) > 1:
        lengths = [b - a for a, b in spans]
        i = int(np.argmin(lengths))
        if lengths[i] >= shortest:
            break
        if i == 0 or (i < len(spans) - 1 and lengths[i + 1] < lengths[i - 1]):
            j = i + 1
        else:
            j = i - 1
        lo, hi = min(i, j), max(i, j)
        spans[lo:hi + 1] = [[spans[lo][0], spans[hi][1]]]
    return [(a, b) for a, b in spans]


@functools.lru_cache(maxsize=8)
def dct_basis(n_in: int, n_out: int) -> np.ndarray:
    """The first ``n_out`` orthonormal DCT-II basis vectors, ``(n_out, n_in)`` float32
    (``librosa.feature.mfcc``'s transform as a matrix); computed once per size."""
    basis = scipy.fft.dct(np.eye(n_in), axis=0, type=2, norm="ortho")[:n_out].astype(np.float32)
    basis.flags.writeable = False
    return basis


def normalise(feats: np.ndarray, use: np.ndarray | None = None,
              block_frames: int = 65536) -> np.ndarray:
    """Mean and variance normalisation of ``(frames, dim)``, in place.

    Statistics are accumulated in float64, a block of frames at a time, over
    the frames marked in ``use`` (all of them if it is None or marks fewer
    than 10 frames).
    """
    if use is None or use.sum() < 10:
        use = np.ones(len(feats), dtype=bool)
    n = max(1, int(use.sum()))
    mean = np.zeros(feats.shape[1])
    for first in range(0, len(feats), block_frames):
        block = feats[first:first + block_frames][use[first:first + block_frames]]
        mean += block.sum(axis=0, dtype=np.float64)
    mean /= n
    var = np.zeros(feats.shape[1])
    for first in range(0, len(feats), block_frames):
        block = feats[first:first + block_frames][use[first:first + block_frames]]
        var += ((block - mean) ** 2).sum(axis=0)
    std = np.sqrt(var / n)
    feats -= mean.astype(feats.dtype)
    feats /= np.maximum(std, 1e-5).astype(feats.dtype)
    return feats


#: Values :func:`equalise` sorts at once (frames x columns): all columns of a
#: short recording in one call; an hour-long stretch a few columns at a time,
#: so the sort's int64 indices stay tens of MB.
_HEQ_VALUES = 1 << 22


@numba.njit(cache=True, nogil=True)
def _tied_levels(values: np.ndarray, order: np.ndarray, quantiles: np.ndarray,
                 out: np.ndarray) -> None:
    """``out[c, t]``: the quantile of the highest rank among the values tied
    with ``values[c, t]`` (``order``: each row's argsort)."""
    n_columns, n = values.shape
    for c in range(n_columns):
        end = n - 1
        for i in range(n - 1, -1, -1):
            if i < n - 1 and values[c, order[c, i]] != values[c, order[c, i + 1]]:
                end = i
            out[c, order[c, i]] = quantiles[end]


def equalise(feats: np.ndarray, use: np.ndarray | None = None) -> np.ndarray:
    """Histogram equalisation of ``(frames, dim)``, in place: each column mapped
    through the empirical distribution of its frames marked in ``use`` (all if
    None or fewer than 10) onto a standard normal (de la Torre et al. 2005).

    A frame in ``use`` whose value has rank ``r`` (0-based, ties taking the
    highest) gets the normal quantile at ``(r + 0.5) / n``; other frames are
    interpolated between those levels (clipped at the ends): the same as
    ``np.interp`` over the sorted values, but by one argsort of a block of
    columns and a numba pass over it for the ties (faster than numpy's take/put
    along axes or a loop over single columns: docs/experiments.md, Features).
    The result depends only on each column's order, so it also standardises the
    shape of a column's distribution, where mean and variance normalisation
    fixes only its location and spread.
    """
    if use is None or use.sum() < 10:
        use = np.ones(len(feats), dtype=bool)
    n = int(use.sum())
    levels = (np.arange(n) + 0.5) / n
    quantiles = scipy.special.ndtri(levels).astype(feats.dtype)  # once, not per value
    others = np.flatnonzero(~use)
    width = max(1, _HEQ_VALUES // n)
    for first in range(0, feats.shape[1], width):
        cols = slice(first, min(feats.shape[1], first + width))
        used = np.ascontiguousarray(feats[use, cols].T)  # (columns, n): rows sort fast
        order = np.argsort(used, axis=1)  # ties need no order: they share a level
        out = np.empty_like(used)
        _tied_levels(used, order, quantiles, out)
        if len(others):
            ranked = np.take_along_axis(used, order, axis=1)
            inside = np.empty((len(others), len(used)))
            for d in range(len(used)):
                inside[:, d] = np.interp(feats[others, first + d], ranked[d], levels)
            feats[others, cols] = scipy.special.ndtri(inside)
        feats[use, cols] = out.T
    return feats
