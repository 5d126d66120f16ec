"""The JSON reply of ``POST /segment`` and ``POST /measure`` as pydantic models,
and the README's reference tables generated from them and from the API's form.

The models document the reply (the OpenAPI schema at ``/docs``, the README's
field table); :func:`vowelseg.render.to_json` builds it, and a test validates
real replies against them. ``python -m vowelseg.service.schema README.md``
rewrites the README's generated tables; ``tests/test_readme.py`` checks that
they are current.
"""

from __future__ import annotations

import re
import sys
import typing
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vowelseg.quality import WARNING_CODES


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Word(_Reply):
    word: str = Field(description="the spoken form, lower case (\"21\" is two words, "
                                  "\"twenty\" and \"one\")")
    start: float = Field(description="seconds from the start of the file")
    end: float = Field(description="seconds")
    pronunciation: list[str] = Field(description="the ARPAbet variant the aligner chose, "
                                                 "with stress digits")
    source: Literal["cmudict", "neural"] = Field(
        description="where the pronunciation came from: the CMU dictionary, or g2p_en's "
                    "model for a word not in it")
    found: bool = Field(description="false: with `approximate` matching, the word was not "
                                    "spoken (no phones, zero length)")
    confidence: float = Field(description="probability that both its boundaries lie within "
                                          "20 ms of a careful labeller's")


class Phone(_Reply):
    phone: str = Field(description="ARPAbet with stress digit for vowels")
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    class_: Literal["vowel", "consonant"] = Field(alias="class", description="AA AE AH AO AW "
                                                  "AY EH ER EY IH IY OW OY UH UW are vowels")
    word: int = Field(description="index into `words`")
    confidence: float = Field(description="probability that both boundaries lie within "
                                          "20 ms of a careful labeller's")


class Measures(_Reply):
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


class Vowel(_Reply):
    phone: str = Field(description="ARPAbet vowel with stress digit (AA1, IY0, …)")
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    word: str = Field(description="the word it belongs to")
    confidence: float = Field(description="as the phone's")
    measures: Measures | None = Field(None, description="with `measures=true` (and always "
                                                        "from `/measure`)")


class Interval(_Reply):
    start: float
    end: float


class ReplyWarning(_Reply):
    code: Literal[tuple(WARNING_CODES)] = Field(  # type: ignore[valid-type]
        description="stable, for programs (table below)")
    message: str = Field(description="for a person")


class SegmentReply(_Reply):
    """The ``output=json`` reply of ``POST /segment`` and ``POST /measure``."""

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


def _type_name(annotation: object) -> str:
    """A short JSON type for a table cell."""
    text = str(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if isinstance(annotation, type):
        text = annotation.__name__
    text = re.sub(r"typing\.|vowelseg\.service\.schema\.", "", text)
    text = text.replace("NoneType", "null").replace("None", "null").replace(" | ", " or ")
    return {"float": "number", "int": "integer", "str": "string", "bool": "boolean"}.get(
        text, text.replace("float", "number").replace("str", "string"))


def reply_table() -> str:
    """The reply's fields as a Markdown table, nested models flattened (``words[].start``)."""
    rows = ["| field | type | meaning |", "|---|---|---|"]

    described = " ".join(info.description or "" for m in (SegmentReply, Word, Phone, Measures,
                                                           Vowel)
                         for info in m.model_fields.values())

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            key = prefix + (info.alias or name)
            if f"`{name}`" in described and not info.description:
                continue  # "likewise `f2_hz`": described with its sibling
            args = [a for a in typing.get_args(info.annotation) if a is not type(None)]
            inner = args[0] if args else info.annotation
            nested = None
            if inner is Interval:
                rows.append(f"| `{key}` | list of `{{start, end}}`, seconds | "
                            f"{info.description or ''} |")
                continue
            if typing.get_origin(info.annotation) is list and isinstance(inner, type) \
                    and issubclass(inner, BaseModel):
                nested, key_type, sub = inner, "list", key + "[]."
            elif isinstance(inner, type) and issubclass(inner, BaseModel):
                nested, key_type, sub = inner, "object or null", key + "."
            else:
                key_type = _type_name(info.annotation)
            rows.append(f"| `{key}` | {key_type} | {info.description or ''} |")
            if nested is not None:
                walk(nested, sub)

    walk(SegmentReply, "")
    return "\n".join(rows)


def warning_table() -> str:
    """The warning codes and when each is given, as a Markdown table."""
    return "\n".join(["| code | given when |", "|---|---|",
                      *(f"| `{c}` | {why} |" for c, why in WARNING_CODES.items())])


def segment_form(openapi: dict) -> dict:
    """The JSON schema of ``POST /segment``'s form (``properties``, ``required``),
    out of the API's OpenAPI document."""
    body = openapi["paths"]["/segment"]["post"]["requestBody"]["content"]["multipart/form-data"]
    return openapi["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]


def form_table() -> str:
    """The form fields of ``POST /segment`` from the API's OpenAPI schema."""
    from vowelseg.service.api import create_app

    form = segment_form(create_app().openapi())
    rows = ["| field | values | default | |", "|---|---|---|---|"]
    for name, prop in form["properties"].items():
        if "enum" in prop:
            values = ", ".join(f"`{v}`" for v in prop["enum"])
        elif prop.get("type") in ("integer", "number"):
            values = f"{prop.get('minimum', ''):g}–{prop.get('maximum', ''):g}"
        elif prop.get("type") == "boolean":
            values = "`true`, `false`"
        elif prop.get("format") == "binary" or prop.get("contentMediaType"):
            values = "a file"
        else:
            values = "text"
        default = ("required" if name in form.get("required", ()) or prop.get("default") == ""
                   else f"`{str(prop.get('default')).lower()}`"
                   if isinstance(prop.get("default"), bool) else f"`{prop.get('default')}`")
        why = " ".join(prop.get("description", "").split())
        rows.append(f"| `{name}` | {values} | {default} | {why} |")
    return "\n".join(rows)


GENERATED = {"form-fields": form_table, "reply-fields": reply_table,
             "warning-codes": warning_table}


def rewrite(text: str) -> str:
    """``text`` with every ``<!-- generated: NAME -->`` … ``<!-- end -->`` block
    replaced by the current table ``NAME`` of :data:`GENERATED`."""
    def fill(match: re.Match) -> str:
        return f"{match.group(1)}\n{GENERATED[match.group(2)]()}\n{match.group(3)}"
    return re.sub(r"(<!-- generated: ([a-z-]+) [^>]*-->)\n(?:(?!<!-- ).)*?(<!-- end -->)",
                  fill, text, flags=re.DOTALL)


if __name__ == "__main__":
    for path in map(Path, sys.argv[1:]):
        path.write_text(rewrite(path.read_text()))
