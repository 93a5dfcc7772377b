"""PATCH bodies: a field left out keeps its value; ``null`` clears it only where it may be empty.

Every field of a PATCH body is optional, so its Python type is ``X | None`` -- but ``None`` from
the client means "clear this", which only makes sense for a column that may be empty. A
:class:`PatchBody` names its clearable fields; ``null`` for any other field is a 422 that names
the field, and the OpenAPI schema of such a field does not offer ``null``.

>>> class NoteUpdate(PatchBody):
...     clearable = frozenset({"note"})
...     title: str | None = None
...     note: str | None = None
>>> NoteUpdate.model_validate({"note": None}).model_fields_set
{'note'}
>>> NoteUpdate.model_validate({"title": None})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for NoteUpdate
title
  Value error, title cannot be empty (null); leave it out to keep its current value ...
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _drop_null_from_required(schema: dict[str, Any], model: type[BaseModel]) -> None:
    clearable: frozenset[str] = getattr(model, "clearable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in clearable or "anyOf" not in prop:
            continue
        branches = [b for b in prop["anyOf"] if b.get("type") != "null"]
        del prop["anyOf"]
        if len(branches) == 1:
            prop.update(branches[0])
        else:
            prop["anyOf"] = branches
        if prop.get("default", 0) is None:
            del prop["default"]


class PatchBody(BaseModel):
    """Base of every PATCH request body."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_from_required)

    clearable: ClassVar[frozenset[str]] = frozenset()
    """Fields whose column may be empty, so that ``null`` clears them."""

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise ValueError(
                f"{info.field_name} cannot be empty (null); leave it out to keep its current value"
            )
        return value
