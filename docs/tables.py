"""The README's reference tables, generated from the code: the reply's fields
(:class:`vowelseg.reply.Reply`), the warning codes
(:data:`vowelseg.warning_codes.WARNING_CODES`) and the form fields of ``POST /segment``
(the API's OpenAPI schema).

``python docs/tables.py README.md`` rewrites every ``<!-- generated: NAME -->``
… ``<!-- end -->`` block; ``tests/test_readme.py`` checks that they are
current. A script, not part of the package: it reads the package from above.
"""

from __future__ import annotations

import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from pydantic.dataclasses import is_pydantic_dataclass
from pydantic.fields import FieldInfo
from vowelseg.reply import Interval, Measures, Phone, Reply, Vowel, Word
from vowelseg.warning_codes import WARNING_CODES


def fields(model: type) -> dict[str, FieldInfo]:
    """The fields of a pydantic model or dataclass, in order."""
    return model.__pydantic_fields__  # type: ignore[attr-defined]


def is_model(annotation: object) -> bool:
    """Whether ``annotation`` is a pydantic model or dataclass (a nested object)."""
    return isinstance(annotation, type) and (issubclass(annotation, BaseModel)
                                             or is_pydantic_dataclass(annotation))


def type_name(annotation: object) -> str:
    """A short JSON type for a table cell."""
    text = str(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if isinstance(annotation, type):
        text = annotation.__name__
    text = re.sub(r"typing\.|vowelseg\.reply\.", "", text)
    text = text.replace("NoneType", "null").replace("None", "null").replace(" | ", " or ")
    return {"float": "number", "int": "integer", "str": "string", "bool": "boolean"}.get(
        text, text.replace("float", "number").replace("str", "string"))


def reply_table() -> str:
    """The reply's fields as a Markdown table, nested models flattened (``words[].start``)."""
    rows = ["| field | type | meaning |", "|---|---|---|"]
    described = " ".join(info.description or "" for m in (Reply, Word, Phone, Measures, Vowel)
                         for info in fields(m).values())

    def walk(model: type, prefix: str) -> None:
        for name, info in fields(model).items():
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
            if typing.get_origin(info.annotation) is list and is_model(inner):
                nested, key_type, sub = inner, "list", key + "[]."
            elif is_model(inner):
                nested, key_type, sub = inner, "object or null", key + "."
            else:
                key_type = type_name(info.annotation)
            rows.append(f"| `{key}` | {key_type} | {info.description or ''} |")
            if nested is not None:
                walk(nested, sub)

    walk(Reply, "")
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


GENERATED: dict[str, Callable[[], str]] = {"form-fields": form_table,
                                           "reply-fields": reply_table,
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
