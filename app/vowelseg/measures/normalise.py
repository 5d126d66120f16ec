"""Lobanov normalisation of the vowels' midpoint formants."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vowelseg.measures.vowels import VowelMeasures


def lobanov(measures: Sequence[VowelMeasures]) -> list[tuple[float | None, float | None]]:
    """Lobanov-normalised midpoint F1 and F2 per vowel: z-scores over the
    recording's measured vowels (None where a vowel has no value, or fewer than
    two vowels have)."""
    values = np.array([[np.nan if v is None else v for v in m.midpoint_hz[:2]]
                       for m in measures], dtype=float).reshape(-1, 2)
    out = np.full_like(values, np.nan)
    for k in range(2):
        ok = np.isfinite(values[:, k])
        if ok.sum() >= 2 and values[ok, k].std() > 0:
            out[ok, k] = (values[ok, k] - values[ok, k].mean()) / values[ok, k].std()
    return [tuple(None if not np.isfinite(v) else round(float(v), 3) for v in row)
            for row in out]
