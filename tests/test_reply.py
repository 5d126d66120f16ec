"""The reply model (vowelseg.reply): built once from a Segmentation, dumped as the
JSON body, read by every rendering, and described by the API's OpenAPI schema."""

from __future__ import annotations

import json

import pytest
from vowelseg.measures import VowelMeasures
from vowelseg.render import render, to_csv, to_json
from vowelseg.reply import Reply, build
from vowelseg.result import PhoneInterval, ReplyWarning, Segmentation, WordInterval


def hat(measured: bool = False) -> Segmentation:
    """ "hat" spoken, "a" not (approximate matching), with a warning."""
    phones = [PhoneInterval("HH", 0.1, 0.15, "consonant", 0, 0.9),
              PhoneInterval("AE1", 0.15, 0.3, "vowel", 0, 0.812),
              PhoneInterval("T", 0.3, 0.31, "consonant", 0, 0.7)]
    words = [WordInterval("hat", 0.1, 0.31, ("HH", "AE1", "T"), "cmudict", True, 0.8),
             WordInterval("a", 0.31, 0.31, (), "cmudict", False, 0.0)]
    measures = (VowelMeasures(150.0, 201.5, 70.2, {20: (700.0, 1700.0, 2500.0),
                                                   50: (710.0, None, 2510.0),
                                                   80: (720.0, 1720.0, 2520.0)},
                              {20: (80.0, 90.0, 100.0), 50: (81.0, 91.0, 101.0),
                               80: (82.0, 92.0, 102.0)},
                              [(700.0, 1700.0, None)] * 11, 5000.0, None),) if measured else ()
    return Segmentation(0.5, 16000, words, phones, [(0.0, 0.1), (0.31, 0.5)], [], 1.05,
                        (ReplyWarning("untranscribed_speech", "1 word was not spoken"),),
                        measures)


EXPECTED = {
    "duration": 0.5, "sample_rate": 16000, "vtln_warp": 1.05,
    "words": [{"word": "hat", "start": 0.1, "end": 0.31, "pronunciation": ["HH", "AE1", "T"],
               "source": "cmudict", "found": True, "confidence": 0.8},
              {"word": "a", "start": 0.31, "end": 0.31, "pronunciation": [],
               "source": "cmudict", "found": False, "confidence": 0.0}],
    "phones": [{"phone": "HH", "start": 0.1, "end": 0.15, "class": "consonant", "word": 0,
                "confidence": 0.9},
               {"phone": "AE1", "start": 0.15, "end": 0.3, "class": "vowel", "word": 0,
                "confidence": 0.812},
               {"phone": "T", "start": 0.3, "end": 0.31, "class": "consonant", "word": 0,
                "confidence": 0.7}],
    "vowels": [{"phone": "AE1", "start": 0.15, "end": 0.3, "word": "hat", "confidence": 0.812}],
    "pauses": [{"start": 0.0, "end": 0.1}, {"start": 0.31, "end": 0.5}],
    "untranscribed": [],
    "warnings": [{"code": "untranscribed_speech", "message": "1 word was not spoken"}],
}


def test_the_json_body_is_the_model_dumped_with_its_keys_in_order():
    body = to_json(hat())
    assert json.dumps(body) == json.dumps(EXPECTED)  # order of keys included
    assert render("json", None, hat()) == json.dumps(EXPECTED, indent=2) + "\n"


def test_measures_appear_only_on_measured_vowels_with_nulls_kept():
    vowel = to_json(hat(measured=True))["vowels"][0]
    assert list(vowel) == ["phone", "start", "end", "word", "confidence", "measures"]
    assert vowel["measures"] == {
        "duration_ms": 150.0, "f0_hz": 201.5, "intensity_db": 70.2,
        "f1_hz": 710.0, "f2_hz": None, "f3_hz": 2510.0,
        "formants_hz": {"20": [700.0, 1700.0, 2500.0], "50": [710.0, None, 2510.0],
                        "80": [720.0, 1720.0, 2520.0]},
        "bandwidths_hz": {"20": [80.0, 90.0, 100.0], "50": [81.0, 91.0, 101.0],
                          "80": [82.0, 92.0, 102.0]},
        "track_hz": [[700.0, 1700.0, None]] * 11,
        "f1_lobanov": None, "f2_lobanov": None,  # one vowel: nothing to normalise over
        "ceiling_hz": 5000.0, "reason": None}


def test_the_body_validates_back_into_the_same_reply():
    reply = build(hat(measured=True))
    assert Reply.model_validate_json(render("json", None, reply)) == reply


def test_every_rendering_reads_the_reply_as_the_segmentation_would():
    seg = hat(measured=True)
    reply = build(seg)
    for output in ("json", "textgrid", "csv"):
        assert render(output, None, reply) == render(output, None, seg)
    row = to_csv(reply).splitlines()[1].split(",")
    assert row[:7] == ["", "hat", "AE", "1", "0.15", "0.3", "150.0"]


def test_a_vowel_table_needs_measures():
    with pytest.raises(ValueError, match="measured"):
        to_csv(hat())


def test_the_openapi_schema_describes_the_json_reply(client):
    schema = client.get("/openapi.json").json()
    for path in ("/segment", "/measure"):
        ok = schema["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"] == {"$ref": "#/components/schemas/Reply"}
    parts = schema["components"]["schemas"]
    assert list(parts["Reply"]["properties"]) == list(EXPECTED)
    assert list(parts["Phone"]["properties"]) == list(EXPECTED["phones"][0])
    assert parts["Phone"]["properties"]["class"]["enum"] == ["vowel", "consonant"]
    assert "measures" not in parts["Vowel"]["required"]
