"""Adding noise to speech at a chosen signal-to-noise ratio.

Shared by the training recipe (noisy copies of the labelled speech) and the
robustness benchmark (noisy test conditions), so "20 dB" means the same in both:
noise power this far below the mean power of the utterance's speech stretches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Reference labels that are not speech (TIMIT).
PAUSE_LABELS = frozenset({"h#", "pau", "epi"})


def speech_power(samples: np.ndarray, phones: Sequence[tuple[str, float, float]],
                 sample_rate: int) -> float:
    """Mean power of the samples inside non-pause reference phones (the whole
    signal's if there are none)."""
    mask = np.zeros(len(samples), dtype=bool)
    for label, start_s, end_s in phones:
        if label not in PAUSE_LABELS:
            mask[int(start_s * sample_rate):int(end_s * sample_rate)] = True
    picked = samples[mask] if mask.any() else samples
    return float(np.mean(np.asarray(picked, dtype=np.float64) ** 2))


def at_snr(noise: np.ndarray, power: float, snr_db: float) -> np.ndarray:
    """``noise`` scaled so its mean power is ``snr_db`` below ``power``."""
    return noise * np.sqrt(power / 10 ** (snr_db / 10) / max(1e-12, np.mean(noise ** 2)))


def babble(talkers: Sequence[np.ndarray], n_samples: int) -> np.ndarray:
    """Several talkers at equal loudness, each looped or cut to ``n_samples``."""
    out = np.zeros(n_samples)
    for talker in talkers:
        out += np.resize(talker, n_samples) / np.sqrt(np.mean(talker ** 2) + 1e-12)
    return out


def white(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise of unit power."""
    return rng.standard_normal(n_samples)
