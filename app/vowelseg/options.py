"""Per-request settings, validated once: the HTTP form fields and the CLI's
flags both build an :class:`Options`, and :func:`vowelseg.segment` takes it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vowelseg.align.graph import STRICT, TOLERANT, Mismatch
from vowelseg.boundaries.posterior import POSTERIOR_SCALE
from vowelseg.hmm.viterbi import DEFAULT_BEAM


class Options(BaseModel):
    """How to align one recording.

    The first four fields are what the HTTP API and the CLI offer; the rest
    are for experiments and benchmarks.

    Attributes
    ----------
    transcript_match : {"exact", "approximate"}
        ``exact`` forces every transcript word in; ``approximate`` lets a word
        that was not spoken be skipped (reported ``found: false``) and speech
        the transcript lacks be absorbed by a filler between words (reported
        as ``untranscribed``), at a small cost in accuracy and speed on
        transcripts that do match.
    boundaries : {"posterior", "viterbi"}
        ``posterior``: each boundary at its expected time under the model
        given the audio around it (:mod:`vowelseg.boundaries.posterior`);
        ``viterbi``: at the best path's frame edges.
    vad_aggressiveness : int
        webrtcvad mode 0-3 (3: the most eager to call a stretch a pause).
    vtln : bool
        Warp the mel filters to fit the voice to the model
        (:mod:`vowelseg.features.vtln`), if the model has a grid of warps.
    speech_check : bool
        Refuse a recording without speech (:mod:`vowelseg.audio.speech`).
    measures : bool
        Measure every vowel (:mod:`vowelseg.measures`: formants, pitch,
        intensity, duration).
    measure_processes : int
        Processes measuring a long recording's vowels
        (:func:`vowelseg.measures.measure_vowels`); more than 1 starts
        processes with "spawn", which re-imports the caller's ``__main__``
        module: a script must keep its work under ``if __name__ ==
        "__main__":``. The CLI and the service use one per core.
    min_pause_s : float
        Shortest non-speech stretch treated as a pause, seconds.
    use_vad : bool
        Keep phones out of the VAD's pauses.
    normalise_between_pauses : bool
        Normalise the features of each stretch between the VAD's pauses (at
        least 2 s) on its own, so a long recording with several speakers or
        rooms is treated like a set of utterances, and leave the pauses out
        of the statistics.
    adapt_passes : int
        Times to adapt the model's means to this recording (MAP, with the
        previous pass's alignment as labels) and align again; 0 for none.
    adapt_tau : float
        MAP prior weight of those passes, frames.
    shift_boundaries : bool
        Apply the model's learned boundary offsets.
    correct_boundaries : bool
        Apply the model's boundary corrector and calibrated confidences
        (:mod:`vowelseg.boundaries.corrector`), if it has them.
    beam : float
        Viterbi pruning beam, natural log; ``inf`` for an exact search.
    posterior_scale : float
        Factor on the emission log-likelihoods in the posterior placement.
    mismatch_costs : Mismatch or None
        Costs of approximate matching (``bench-robust`` sweeps them); None:
        those of ``transcript_match``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    transcript_match: Literal["exact", "approximate"] = "exact"
    boundaries: Literal["posterior", "viterbi"] = "posterior"
    vad_aggressiveness: int = Field(3, ge=0, le=3)
    vtln: bool = True
    speech_check: bool = True
    measures: bool = False
    measure_processes: int = Field(1, ge=1)
    min_pause_s: float = Field(0.2, ge=0.0)
    use_vad: bool = True
    normalise_between_pauses: bool = True
    adapt_passes: int = Field(0, ge=0, le=10)
    adapt_tau: float = Field(20.0, gt=0.0)
    shift_boundaries: bool = True
    correct_boundaries: bool = True
    beam: float = Field(DEFAULT_BEAM, gt=0.0)
    posterior_scale: float = Field(POSTERIOR_SCALE, gt=0.0)
    mismatch_costs: Mismatch | None = None

    @property
    def mismatch(self) -> Mismatch:
        """The graph's tolerance of words not spoken and speech not transcribed."""
        if self.mismatch_costs is not None:
            return self.mismatch_costs
        return TOLERANT if self.transcript_match == "approximate" else STRICT
