"""The CLI flags of :class:`~vowelseg.options.PublicOptions`, generated from its
fields: ``transcript_match`` becomes ``--transcript-match {exact,approximate}``,
a bool ``--vtln``/``--no-vtln``, a bounded int ``--vad-aggressiveness {0,1,2,3}``;
each with the field's description as its help and its default.

The shorter flags the command line had before the generated ones
(``--approximate``, ``--viterbi-boundaries``, ``--vad N``) stay as aliases.
"""

from __future__ import annotations

import argparse
import typing
from typing import Any

from pydantic.fields import FieldInfo

from vowelseg.options import Options, PublicOptions

#: Other names of a field's flag.
ALIASES: dict[str, tuple[str, ...]] = {"vad_aggressiveness": ("--vad",)}
#: Flags that set a field to one value: flag -> (field, value).
SHORTCUTS: dict[str, tuple[str, str]] = {"--approximate": ("transcript_match", "approximate"),
                                         "--viterbi-boundaries": ("boundaries", "viterbi")}


def flag_name(field: str) -> str:
    """``vad_aggressiveness`` -> ``--vad-aggressiveness``."""
    return "--" + field.replace("_", "-")


def _bounds(info: FieldInfo) -> tuple[Any, Any]:
    """The field's inclusive lower and upper bounds (None where it has none)."""
    low = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    return low, high


def _flag_kwargs(info: FieldInfo, default: Any) -> dict[str, Any]:
    """``add_argument`` keywords for a field: its type, choices, help and default.

    Raises
    ------
    TypeError
        If the field's type has no flag form (only literals, bools, ints and
        floats have).
    """
    kwargs: dict[str, Any] = {"help": info.description, "default": default}
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return {**kwargs, "choices": typing.get_args(annotation)}
    if annotation is bool:
        return {**kwargs, "action": argparse.BooleanOptionalAction}
    if annotation is int:
        low, high = _bounds(info)
        if low is not None and high is not None:
            return {**kwargs, "type": int, "choices": range(low, high + 1)}
        return {**kwargs, "type": int}
    if annotation is float:
        return {**kwargs, "type": float}
    raise TypeError(f"no command-line flag for a field of type {annotation}")


def add_option_flags(parser: argparse.ArgumentParser,
                     defaults: PublicOptions | None = None) -> None:
    """Add a flag for every public option to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        A sub-command's parser; read the values back with :func:`options_from_args`.
    defaults : PublicOptions, optional
        This command's defaults, if not :class:`PublicOptions`' own (``batch``
        measures by default: :data:`vowelseg.batch.BATCH_OPTIONS`).
    """
    defaults = defaults or PublicOptions()
    group = parser.add_argument_group("alignment options")
    for name, info in PublicOptions.model_fields.items():
        kwargs = _flag_kwargs(info, getattr(defaults, name))
        group.add_argument(flag_name(name), *ALIASES.get(name, ()), dest=name, **kwargs)
    for flag, (name, value) in SHORTCUTS.items():
        group.add_argument(flag, dest=name, action="store_const", const=value,
                           help=f"the same as {flag_name(name)} {value}")


def options_from_args(args: argparse.Namespace, **fixed: Any) -> Options:
    """The :class:`Options` of parsed flags, with ``fixed`` fields set by the
    command itself (e.g. ``measure_processes``).

    Raises
    ------
    pydantic.ValidationError
        If a value is out of range (the CLI reports it as a refused setting).
    """
    given = {name: getattr(args, name) for name in PublicOptions.model_fields}
    return Options(**{**given, **fixed})
