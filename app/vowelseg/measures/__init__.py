"""Vowel measurements: duration, formants, pitch and intensity of every vowel.

Formants are Praat's (Burg's method, through praat-parselmouth: Praat's own
code, the phoneticians' reference), under a formant ceiling chosen per
recording the way FastTrack chooses it (:mod:`~vowelseg.measures.ceiling`).
The choice is reported. A vowel too short to measure, or with no voiced frame,
gets empty values and a reason, never a made-up number.

Modules, by job: :mod:`~vowelseg.measures.resample` (stretches of a recording
and their resampling), :mod:`~vowelseg.measures.praat` (the Praat driver),
:mod:`~vowelseg.measures.ceiling` (the ceiling choice),
:mod:`~vowelseg.measures.vowels` (what a vowel measured; one process's loop),
:mod:`~vowelseg.measures.pool` (:func:`measure_vowels`, shared among processes
for long recordings), :mod:`~vowelseg.measures.normalise` (Lobanov).
"""

from __future__ import annotations

from vowelseg.measures.normalise import lobanov
from vowelseg.measures.pool import PARALLEL_MIN_VOWELS, measure_vowels
from vowelseg.measures.vowels import VowelMeasures

__all__ = ["PARALLEL_MIN_VOWELS", "VowelMeasures", "lobanov", "measure_vowels"]
