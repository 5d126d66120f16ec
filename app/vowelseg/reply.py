"""The reply, described once: what ``POST /segment`` and ``POST /measure`` send
with ``output=json``, and what every other rendering (:mod:`vowelseg.render`)
reads, as pydantic models.

:func:`build` makes it, once, from the pipeline's
:class:`~vowelseg.result.Segmentation`; :func:`to_dict` is its JSON body. The
API's OpenAPI schema and the README's field table (``docs/tables.py``) are
generated from these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass

from vowelseg.measures import VowelMeasures, lobanov
from vowelseg.result import ReplyWarning, Segmentation

__all__ = ["Interval", "Measures", "Phone", "Reply", "ReplyWarning", "Vowel", "Word", "build",
           "to_dict"]


#: The reply's parts are validated pydantic dataclasses: a long recording has tens
#: of thousands of phones, which build faster as dataclasses than as model
#: instances (docs/experiments.md, Speed).
_PART = ConfigDict(extra="forbid", populate_by_name=True)
_part = dataclass(config=_PART, frozen=True, slots=True, kw_only=True)


@_part
class Word:
    word: str = Field(description="the spoken form, lower case (\"21\" is two words, "
                                  "\"twenty\" and \"one\")")
    start: float = Field(description="seconds from the start of the file")
    end: float = Field(description="seconds")
    pronunciation: list[str] = Field(description="the ARPAbet variant the aligner chose, "
                                                 "with stress digits")
    source: Literal["cmudict", "neural", "textgrid"] = Field(
        description="where the pronunciation came from: the CMU dictionary, g2p_en's "
                    "model for a word not in it, or the uploaded TextGrid (`/measure`)")
    found: bool = Field(description="false: with `approximate` matching, the word was not "
                                    "spoken (no phones, zero length)")
    confidence: float = Field(description="probability that both its boundaries lie within "
                                          "20 ms of a careful labeller's")


@_part
class Phone:
    phone: str = Field(description="ARPAbet with stress digit for vowels")
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    class_: Literal["vowel", "consonant"] = Field(alias="class", description="AA AE AH AO AW "
                                                  "AY EH ER EY IH IY OW OY UH UW are vowels")
    word: int = Field(description="index into `words`")
    confidence: float = Field(description="probability that both boundaries lie within "
                                          "20 ms of a careful labeller's")


@_part
class Measures:
    duration_ms: float = Field(description="the vowel's length")
    f0_hz: float | None = Field(description="median over the vowel's voiced frames")
    intensity_db: float | None = Field(description="mean power, dB re (2e-5)^2 (Praat's "
                                                   "\"Get intensity\")")
    f1_hz: float | None = Field(description="at the midpoint; likewise `f2_hz`, `f3_hz`")
    f2_hz: float | None
    f3_hz: float | None
    formants_hz: dict[str, list[float | None]] = Field(
        description="`{\"20\": [F1, F2, F3], \"50\": …, \"80\": …}` at 20/50/80 % of the vowel")
    bandwidths_hz: dict[str, list[float | None]] = Field(description="B1-B3 at the same "
                                                                     "points")
    track_hz: list[list[float | None]] = Field(description="F1-F3 at 0, 10, …, 100 % "
                                                           "(11 points)")
    f1_lobanov: float | None = Field(description="midpoint F1 z-scored over the recording's "
                                                 "vowels; likewise `f2_lobanov`")
    f2_lobanov: float | None
    ceiling_hz: float = Field(description="the formant ceiling chosen for the recording")
    reason: str | None = Field(description="why values are empty (too short, unvoiced)")


@_part
class Vowel:
    phone: str = Field(description="ARPAbet vowel with stress digit (AA1, IY0, …)")
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    word: str = Field(description="the word it belongs to")
    confidence: float = Field(description="as the phone's")
    measures: Measures | None = Field(None, exclude_if=lambda m: m is None,
                                      description="with `measures=true` (and always "
                                                  "from `/measure`)")


@_part
class Interval:
    start: float
    end: float


class Reply(BaseModel):
    """The ``output=json`` reply of ``POST /segment`` and ``POST /measure``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration: float = Field(description="seconds")
    sample_rate: int = Field(description="the input's, Hz")
    vtln_warp: float = Field(description="the mel-filter warp that fitted the voice to the "
                                         "model (1.0: none)")
    words: list[Word] = Field(description="one per spoken word of the transcript, in order")
    phones: list[Phone] = Field(description="every phone, in order")
    vowels: list[Vowel] = Field(description="the vowels among the phones")
    pauses: list[Interval] = Field(description="stretches with no phone")
    untranscribed: list[Interval] = Field(description="speech no transcript word matched "
                                                      "(`approximate` only)")
    warnings: list[ReplyWarning] = Field(description="what is doubtful about the reply; "
                                                     "empty when all is well")


def build(seg: Segmentation) -> Reply:
    """The reply to an alignment: words, phones, vowels (with their measures and
    Lobanov-normalised formants when ``seg`` was measured), pauses, warnings.

    The fields are gathered as plain data and validated in one call, which on
    an hour of speech costs a fraction of writing the JSON.
    """
    vowels = seg.vowels
    words = [w.word for w in seg.words]
    if seg.measures:
        measured = [_measures(m, z) for m, z in zip(seg.measures, lobanov(seg.measures),
                                                    strict=True)]
    else:
        measured = [None] * len(vowels)
    return Reply.model_validate({
        "duration": seg.duration,
        "sample_rate": seg.sample_rate,
        "vtln_warp": seg.vtln_warp,
        "words": [{"word": w.word, "start": w.start, "end": w.end,
                   "pronunciation": w.pronunciation, "source": w.source, "found": w.found,
                   "confidence": w.confidence} for w in seg.words],
        "phones": [{"phone": p.phone, "start": p.start, "end": p.end, "class": p.cls,
                    "word": p.word, "confidence": p.confidence} for p in seg.phones],
        "vowels": [{"phone": p.phone, "start": p.start, "end": p.end,
                    "word": words[p.word] if p.word >= 0 else "", "confidence": p.confidence,
                    "measures": m} for p, m in zip(vowels, measured, strict=True)],
        "pauses": [{"start": a, "end": b} for a, b in seg.pauses],
        "untranscribed": [{"start": a, "end": b} for a, b in seg.untranscribed],
        "warnings": seg.warnings,
    })


def _measures(m: VowelMeasures, z: tuple[float | None, float | None]) -> dict:
    mid = m.midpoint_hz
    return {"duration_ms": m.duration_ms, "f0_hz": m.f0_hz, "intensity_db": m.intensity_db,
            "f1_hz": mid[0], "f2_hz": mid[1], "f3_hz": mid[2],
            "formants_hz": {str(k): v for k, v in m.formants_hz.items()},
            "bandwidths_hz": {str(k): v for k, v in m.bandwidths_hz.items()},
            "track_hz": m.track_hz, "f1_lobanov": z[0], "f2_lobanov": z[1],
            "ceiling_hz": m.ceiling_hz, "reason": m.reason}


def to_dict(reply: Reply) -> dict:
    """The reply's JSON body as Python data (``class`` for the phone's class;
    ``measures`` only on measured vowels)."""
    return reply.model_dump(mode="json", by_alias=True)
