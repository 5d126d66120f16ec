"""``POST /segment``'s option fields are generated from the public options: one
flat form field each, with the option's type, default and description."""

from __future__ import annotations

from vowelseg.options import PublicOptions
from vowelseg.service.api import create_app

from tests.conftest import docs_tables


def test_segment_form_offers_every_public_option_as_described():
    form = docs_tables().segment_form(create_app().openapi())
    for name, info in PublicOptions.model_fields.items():
        field = form["properties"][name]
        assert (field["description"], field["default"]) == (info.description, info.default)
    assert form["properties"]["vad_aggressiveness"] | {"description": ""} == {
        "type": "integer", "minimum": 0, "maximum": 3, "default": 3,
        "title": "Vad Aggressiveness", "description": ""}
