"""Per-request settings, validated once, each field described once.

:class:`PublicOptions` are what users are offered: the HTTP form fields of
``POST /segment`` (:mod:`vowelseg.service.form`) and the flags of ``vowelseg
segment`` and ``vowelseg batch`` (:mod:`vowelseg.option_flags`) are generated
from its fields, their types, ranges, defaults and descriptions.
:class:`Options` adds the knobs of experiments and benchmarks;
:func:`vowelseg.segment` takes it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vowelseg.align.graph import STRICT, TOLERANT, Mismatch
from vowelseg.boundaries.posterior import POSTERIOR_SCALE
from vowelseg.hmm.viterbi import DEFAULT_BEAM


class PublicOptions(BaseModel):
    """How to align one recording: the choices the HTTP API and the CLI offer.

    Each field's description is its help text in the API's form and the
    CLI's ``--help``; a new field here becomes a form field and a flag.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    transcript_match: Literal["exact", "approximate"] = Field(
        "exact", description="exact: every transcript word is forced in; approximate: the "
        "transcript may miss or add words; unspoken words come back found=false, extra "
        "speech as untranscribed")
    boundaries: Literal["posterior", "viterbi"] = Field(
        "posterior", description="posterior: each boundary at its expected time under the "
        "model given the audio around it; viterbi: at the best path's 5 ms frame edges")
    vad_aggressiveness: int = Field(
        3, ge=0, le=3, description="webrtcvad mode (3: the most eager to call a stretch a "
        "pause)")
    vtln: bool = Field(
        True, description="fit the voice to the model by warping the mel filters "
        "(vocal-tract-length normalisation; the warp is in the reply)")
    speech_check: bool = Field(
        True, description="refuse a recording in which no speech is heard (noise, silence, "
        "tones, music); off: align it anyway")
    measures: bool = Field(
        False, description="measure every vowel (formants, f0, intensity, duration) into "
        "vowels[].measures; always on for the csv and vowel-chart outputs")


class Options(PublicOptions):
    """How to align one recording: the public options, and the knobs of
    experiments and benchmarks (each field's meaning is its description)."""

    measure_processes: int = Field(
        1, ge=1, description="Processes measuring a long recording's vowels "
        "(:func:`vowelseg.measures.measure_vowels`); more than 1 starts processes with "
        "\"spawn\", which re-imports the caller's ``__main__`` module: a script must keep "
        "its work under ``if __name__ == \"__main__\":``. The CLI and the service use one "
        "per core.")
    min_pause_s: float = Field(
        0.2, ge=0.0, description="Shortest non-speech stretch treated as a pause, seconds.")
    use_vad: bool = Field(True, description="Keep phones out of the VAD's pauses.")
    normalise_between_pauses: bool = Field(
        True, description="Normalise the features of each stretch between the VAD's pauses "
        "(at least 2 s) on its own, so a long recording with several speakers or rooms is "
        "treated like a set of utterances, and leave the pauses out of the statistics.")
    adapt_passes: int = Field(
        0, ge=0, le=10, description="Times to adapt the model's means to this recording "
        "(MAP, with the previous pass's alignment as labels) and align again; 0 for none.")
    adapt_tau: float = Field(
        20.0, gt=0.0, description="MAP prior weight of those passes, frames.")
    shift_boundaries: bool = Field(
        True, description="Apply the model's learned boundary offsets.")
    correct_boundaries: bool = Field(
        True, description="Apply the model's boundary corrector and calibrated confidences "
        "(:mod:`vowelseg.boundaries.corrector`), if it has them.")
    beam: float = Field(
        DEFAULT_BEAM, gt=0.0, description="Viterbi pruning beam, natural log; ``inf`` for "
        "an exact search.")
    posterior_scale: float = Field(
        POSTERIOR_SCALE, gt=0.0, description="Factor on the emission log-likelihoods in "
        "the posterior placement.")
    mismatch_costs: Mismatch | None = Field(
        None, description="Costs of approximate matching (``bench-robust`` sweeps them); "
        "None: those of ``transcript_match``.")

    @property
    def mismatch(self) -> Mismatch:
        """The graph's tolerance of words not spoken and speech not transcribed."""
        if self.mismatch_costs is not None:
            return self.mismatch_costs
        return TOLERANT if self.transcript_match == "approximate" else STRICT
