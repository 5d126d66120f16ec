"""Stretches of a recording on its own time axis, and their resampling.

A stretch knows where its first sample sits in the recording, and is cut by
whole sample indices, so a vowel gets the same samples whichever stretch it is
cut from; resampled stretches start on a multiple of the resampling ratio's
denominator for the same reason.
"""

from __future__ import annotations

import fractions
import functools
from dataclasses import dataclass

import numpy as np

#: Audio kept beyond a piece before resampling it, seconds (the resampler's
#: edge transients stay out of the analysed part).
_RESAMPLE_MARGIN_S = 0.02
#: Half-length of the resampler's filter, zero crossings of its sinc.
_RESAMPLE_ZEROS = 16


@dataclass(frozen=True)
class Stretch:
    """A stretch of a recording at some rate.

    Attributes
    ----------
    samples : np.ndarray
        ``(n,)``, float.
    rate : float
        Hz.
    first : int
        Index of ``samples[0]`` among the recording's samples at ``rate``
        (sample ``k`` is at ``k / rate`` seconds).
    """

    samples: np.ndarray
    rate: float
    first: int = 0

    @property
    def start_s(self) -> float:
        """Time of ``samples[0]`` in the recording, seconds."""
        return self.first / self.rate

    def cut(self, start_s: float, end_s: float) -> Stretch:
        """The samples from ``start_s`` to ``end_s``, as far as the stretch goes.
        Cut by whole sample indices, so the same span gives the same samples
        from any stretch of the recording."""
        i = max(0, int(np.floor(start_s * self.rate)) - self.first)
        j = min(len(self.samples), int(np.ceil(end_s * self.rate)) - self.first)
        return Stretch(self.samples[i:j], self.rate, self.first + i)

    def sound(self, start_s: float, end_s: float):  # noqa: ANN201 (parselmouth.Sound)
        """:meth:`cut` as a Praat Sound on the recording's time axis."""
        import parselmouth

        part = self.cut(start_s, end_s)
        # Praat's Sound starts half a sample before its first sample
        return parselmouth.Sound(part.samples, self.rate,
                                 start_time=(part.first - 0.5) / self.rate)


@functools.lru_cache(maxsize=32)
def _lowpass_taps(up: int, down: int) -> np.ndarray:
    """The polyphase resampler's filter: a Kaiser-windowed sinc with its cutoff
    at the lower of the two Nyquist frequencies, :data:`_RESAMPLE_ZEROS` zero
    crossings either side (at the slower rate)."""
    import scipy.signal

    n = 2 * _RESAMPLE_ZEROS * max(up, down) + 1
    return scipy.signal.firwin(n, 1.0 / max(up, down), window=("kaiser", 10.0)) * up


def resampled(source: Stretch, rate: float, start_s: float, end_s: float) -> Stretch:
    """``source`` from ``start_s`` to ``end_s`` (clipped to it) at ``rate``.
    The resampler is given :data:`_RESAMPLE_MARGIN_S` more on each side, cut
    off again, so that its edges stay out of the stretch.

    A polyphase FIR (scipy's ``resample_poly``) whose passband reaches the new
    Nyquist frequency, as Praat's resampling (an FFT low-pass there, then sinc
    interpolation) does before its formant analysis: the formants come out as
    Praat's own do, where soxr's (whose passband stops short of Nyquist) were
    further off, in a fraction of Praat's time (docs/experiments.md, Measures).
    """
    import scipy.signal

    ratio = fractions.Fraction(int(round(rate)), int(source.rate))
    if ratio != fractions.Fraction(rate) / fractions.Fraction(source.rate):
        raise ValueError(f"resampling to {rate} Hz needs a whole number of Hz")
    up, down = ratio.numerator, ratio.denominator
    if source.first % down:
        raise ValueError("a source stretch must start on a multiple of the resampling "
                         f"ratio's denominator ({down})")
    # the stretch starts on a multiple of ``down`` samples, so that its samples
    # at the new rate fall at whole multiples of 1 / rate: a vowel is analysed
    # on the same samples whichever stretch it was cut from
    a = int(np.floor((start_s - _RESAMPLE_MARGIN_S) * source.rate)) // down * down
    a = max(source.first, a)
    b = min(source.first + len(source.samples),
            int(np.ceil((end_s + _RESAMPLE_MARGIN_S) * source.rate)))
    y = np.asarray(source.samples[a - source.first:b - source.first], dtype=np.float64)
    if up != down:
        y = scipy.signal.resample_poly(y, up, down, window=_lowpass_taps(up, down))
    # a * up / down is a whole number: a is a multiple of down
    return Stretch(y, float(rate), a * up // down).cut(start_s, end_s)
