"""Every route says what it answers: a schema (or a list or page of one), or a response class.

A bare ``list``, ``dict``, ``object`` or ``Any`` hides the answer's shape from the OpenAPI
document, from mypy and from the reader; an endpoint that builds its answer from ORM rows
returns the schema itself.
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.responses import Response

from exoshare.app import create_app
from exoshare.config import Settings

VAGUE = (list, dict, object, typing.Any, tuple, set)


def _precise(annotation: object) -> bool:
    if annotation is None or annotation is type(None):
        return True  # 204 No Content
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel | Response)
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return all(_precise(arg) for arg in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return _precise(item) and item is not type(None)
    return False


def _routes(tmp_path: Path) -> list[tuple[str, APIRoute]]:
    app = create_app(Settings(data_dir=tmp_path, secret_key="route-types-" + "k" * 32))
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            methods = ",".join(sorted((context.methods or set()) - {"HEAD"}))
            found.append((f"{methods} {context.path}", route))
    return found


def test_every_route_declares_a_precise_response_type(tmp_path: Path) -> None:
    vague = []
    for name, route in _routes(tmp_path):
        annotation = inspect.signature(route.endpoint, eval_str=True).return_annotation
        if annotation is inspect.Signature.empty or annotation in VAGUE or not _precise(annotation):
            vague.append(f"{name} -> {annotation!r} ({route.endpoint.__module__})")
    assert vague == []


def test_an_api_route_documents_its_body(tmp_path: Path) -> None:
    undocumented = [
        name
        for name, route in _routes(tmp_path)
        if route.path_format.startswith("/api/")
        and route.status_code != 204
        and route.response_model is None
        and not route.responses
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    ("annotation", "precise"),
    [
        (object, False),
        (list, False),
        (dict[str, typing.Any], False),
        (list[BaseModel], True),
        (Response, True),
        (None, True),
    ],
)
def test_what_counts_as_precise(annotation: object, precise: bool) -> None:
    assert _precise(annotation) is precise
