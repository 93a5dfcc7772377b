"""The page envelope every list endpoint answers with."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(
        cls, schema: type[T], rows: Iterable[Any], total: int, limit: int, offset: int
    ) -> Page[T]:
        """A page of ``rows`` (ORM objects) shown as ``schema``."""
        return cls(
            items=[schema.model_validate(row) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
        )
