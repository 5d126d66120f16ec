"""Acoustic features: one function for training and inference alike.

Frame ``t`` is centred at ``t * hop_s`` seconds (librosa's ``center=True``),
so it stands for the interval ``[(t - 0.5) * hop_s, (t + 0.5) * hop_s)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import librosa
import numpy as np

ANALYSIS_RATE = 16000


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


def log_mel(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Log mel power spectrogram, shape ``(n_mels, n_frames)``.

    The power is floored ``config.floor_db`` below its peak, so digital
    silence and low noise look alike.
    """
    y = np.asarray(samples, dtype=np.float32)
    win_length = int(round(config.win_s * config.sample_rate))
    n_fft = int(2 ** np.ceil(np.log2(win_length)))
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=config.sample_rate,
        n_fft=n_fft,
        hop_length=config.hop_length,
        win_length=win_length,
        n_mels=config.n_mels,
        fmin=config.fmin_hz,
        fmax=config.fmax_hz,
        power=2.0,
    )
    floor = max(float(mel.max()), 1e-20) * 10.0 ** (-config.floor_db / 10.0)
    return np.log(np.maximum(mel, floor))


def mfcc_features(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """MFCC + deltas + delta-deltas, normalised per utterance.

    Parameters
    ----------
    samples : np.ndarray
        Mono signal at ``config.sample_rate``, float in [-1, 1].
    config : FeatureConfig
        Feature settings.

    Returns
    -------
    np.ndarray
        ``(n_frames, 3 * n_mfcc)`` float32; each column has zero mean and
        unit variance over the utterance.
    """
    mfcc = librosa.feature.mfcc(S=log_mel(samples, config), n_mfcc=config.n_mfcc)
    width = config.delta_width
    if mfcc.shape[1] < width:
        width = max(3, mfcc.shape[1] // 2 * 2 - 1)
    if mfcc.shape[1] < 3:
        deltas = np.zeros((2,) + mfcc.shape, dtype=mfcc.dtype)
    else:
        deltas = np.stack(
            [
                librosa.feature.delta(mfcc, width=width, order=1, mode="nearest"),
                librosa.feature.delta(mfcc, width=width, order=2, mode="nearest"),
            ]
        )
    feats = np.concatenate([mfcc, deltas[0], deltas[1]], axis=0).T
    return normalise(feats).astype(np.float32)


def normalise(feats: np.ndarray) -> np.ndarray:
    """Per-utterance mean and variance normalisation of ``(frames, dim)``."""
    mean = feats.mean(axis=0, keepdims=True)
    std = feats.std(axis=0, keepdims=True)
    return (feats - mean) / np.maximum(std, 1e-5)
