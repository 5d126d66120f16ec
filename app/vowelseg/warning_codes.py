"""The warning codes a reply may carry and when each is given: the README's
table and the reply's schema read them; :mod:`vowelseg.quality` gives them.
The thresholds were chosen on timit-dev with speaker-held-out models and
checked on synthetic speech (``vowelseg-lab bench-input`` prints the rates)."""

from __future__ import annotations

from typing import Literal

#: Speech the transcript lacks (``approximate``), at least, seconds.
UNTRANSCRIBED_MIN_S = 0.5
#: Mean word confidence under which the whole alignment is doubtful.
LOW_MEAN_CONFIDENCE = 0.25
#: Share of samples at full scale from which a recording is called clipped.
CLIPPED_SHARE = 0.001
#: Speech level (outside the VAD's pauses) under which a recording is called quiet, dBFS.
QUIET_DBFS = -45.0

#: Every warning code a reply may carry, and when it is given.
WARNING_CODES = {
    "transcript_mismatch": "`exact` matching, and the speech fits the transcript's phones far "
                           "worse than a free phone loop (the mean log-likelihood ratio and its "
                           "worst 1 s and 2 s windows, weighed, above 0): try "
                           "`transcript_match=approximate`",
    "untranscribed_speech": f"`approximate` matching found {UNTRANSCRIBED_MIN_S:g} s or more "
                            "of speech the transcript lacks, or transcript words that were "
                            "not spoken",
    "words_guessed": "half the words or more are not in the dictionary and were guessed by "
                     "the neural model: misspelt, or not English",
    "mostly_numbers": "two thirds of the words or more are numbers spelt out, or the "
                      "transcript starts with two bare numbers (sample offsets left in it)",
    "low_confidence": "the words' mean acoustic fit, exp(LLR / 4), is below "
                      f"{LOW_MEAN_CONFIDENCE:g}",
    "clipped": f"{100 * CLIPPED_SHARE:g} % of the samples or more sit at full scale",
    "quiet": f"the speech (outside the VAD's pauses) is below {QUIET_DBFS:g} dBFS",
}

#: A warning's ``code``: one of :data:`WARNING_CODES`.
WarningCode = Literal[tuple(WARNING_CODES)]  # type: ignore[valid-type]
