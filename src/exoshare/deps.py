"""Request dependencies shared by every router: the database session, text checks, pagination.

Who the caller is, is the gate's business: :mod:`exoshare.auth.gate`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from exoshare.bounds import SQL_BIGINT_MAX
from exoshare.db import session_scope
from exoshare.errors import InvalidInput
from exoshare.runtime import runtime_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    with session_scope(runtime_of(request).sessionmaker) as session:
        yield session


# scope="function" ends the transaction when the handler returns, before the response is sent.
# FastAPI's default ("request") runs a yield dependency's exit after the response has gone out,
# so a client acting on a 204 from DELETE /auth/token could still use the token it had revoked,
# and a freshly issued token could be refused on first use. Every route, API and page, takes its
# session from this one alias, so the order holds everywhere.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


NUL = "\x00"


def _nul_field(value: object, path: str) -> str | None:
    """The dotted path of the first key or string in a JSON value that holds a NUL character."""
    if isinstance(value, str):
        return path if NUL in value else None
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                return f"{path}.{key}".lstrip(".")
            items.append((f"{path}.{key}".lstrip("."), item))
    elif isinstance(value, list):
        items = [(f"{path}.{index}".lstrip("."), item) for index, item in enumerate(value)]
    for item_path, item in items:
        found = _nul_field(item, item_path)
        if found is not None:
            return found
    return None


async def refuse_nul_characters(connection: HTTPConnection) -> None:
    """Refuse text holding U+0000 anywhere a request carries text: path, query, form, JSON.

    PostgreSQL cannot store or even compare it (every such value was a 500 there), and no
    name, id or note needs it. Uploaded files are binary and are not looked at here.
    """

    def refuse(field: str) -> InvalidInput:
        return InvalidInput(
            f"{field}: text may not contain the NUL character (U+0000)", field=field or "body"
        )

    for name, value in connection.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise refuse(name)
    for name, value in connection.query_params.multi_items():
        if NUL in name or NUL in value:
            raise refuse(name)
    if not isinstance(connection, Request) or connection.method in SAFE_METHODS:
        return
    content_type = connection.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await connection.form()
        for name, field_value in form.multi_items():
            if NUL in name or (isinstance(field_value, str) and NUL in field_value):
                raise refuse(name)
    elif "json" in content_type:
        body = await connection.body()
        if b"\\u0000" in body or b"\x00" in body:
            try:
                document = json.loads(body)
            except ValueError:
                return  # not JSON at all: the route's own parsing says so
            field = _nul_field(document, "")
            if field is not None:
                raise refuse(field)


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX, description="Items to skip")] = 0,
) -> PageParams:
    return PageParams(limit, offset)


Paging = Annotated[PageParams, Depends(page_params)]
