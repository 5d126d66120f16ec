"""Form fields generated from a pydantic model's fields: a FastAPI dependency
that reads each field as its own ``multipart/form-data`` field (with the
field's type, range, default and description in the OpenAPI schema) and
returns the model.

A model given straight to FastAPI as a form (``Annotated[Model, Form()]``)
beside other form fields is described in the OpenAPI schema as a separate
schema under ``allOf``; these fields stay flat, one property each, beside the
endpoint's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Form
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def form_fields(model: type[M]) -> Callable[..., M]:
    """A dependency reading ``model``'s fields from the form and returning a ``model``.

    Parameters
    ----------
    model : type of BaseModel
        Every field has a default (an option not sent keeps it).

    Returns
    -------
    callable
        For ``Annotated[model, Depends(form_fields(model))]``.
    """
    def read(**values: object) -> M:
        return model(**values)

    parameters = []
    for name, info in model.model_fields.items():
        field = Form(description=info.description)
        field.metadata = list(info.metadata)  # the ranges (ge, le, ...)
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                            default=info.default,
                                            annotation=Annotated[info.annotation, field]))
    read.__signature__ = inspect.Signature(parameters, return_annotation=model)  # type: ignore[attr-defined]
    read.__name__ = f"{model.__name__}_form"
    return read
