"""The route matrix engine: enumerate every route, call it as every caller, classify the answers.

Each route is called by each caller with (a) ids in the caller's scope, then, for every id the
request carries (path, query or body), with (b) a foreign id and (c) a missing one in that place.
(a) is classified (``ok``: past the gate; ``deny``: 403/404; ``auth``: not signed in) and checked
against the expectation table; (b) and (c) must answer alike, in status and body, whenever (b) is
not visible to the caller (a foreign id that answers with data is an oracle too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from tests.security.matrix_world import MatrixWorld, missing_value
from tests.security.route_cases import (
    CALLS,
    FIXED_PATH_VALUES,
    PATH_PARAM_KINDS,
    Call,
    fill,
    path_param_kind,
    slots,
)

PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")


@dataclass(frozen=True)
class RouteSpec:
    key: str
    method: str
    path: str
    page: bool
    websocket: bool = False
    query_ids: tuple[str, ...] = ()
    """Query parameters that name an object (``clinic_id``, ...): each becomes an id place."""
    group: str = "platform"
    """The capability that owns the route (``fleet``, ``web``, ...); ``platform`` for what the
    framework serves itself (OpenAPI, docs, static files) and the health check."""


def _group(endpoint: object) -> str:
    module = getattr(endpoint, "__module__", "") or ""
    parts = module.split(".")
    if parts[0] == "exoshare" and len(parts) > 2:
        return parts[1]
    return "platform"


def _query_ids(route: APIRoute) -> tuple[str, ...]:
    names: list[str] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names += [p.name for p in dependant.query_params if p.name in PATH_PARAM_KINDS]
        pending += dependant.dependencies
    return tuple(sorted(set(names)))


def enumerate_routes(app: FastAPI) -> list[RouteSpec]:
    """Every HTTP method of every route and every WebSocket route the app serves."""
    specs: list[RouteSpec] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        group = _group(context.endpoint)
        if isinstance(route, APIWebSocketRoute):
            specs.append(RouteSpec(f"WS {path}", "WS", path, False, True, (), group))
        elif isinstance(route, Mount):
            specs.append(RouteSpec(f"GET {path}/{{path}}", "GET", path + "/{path}", page=False))
        elif isinstance(route, APIRoute | Route):
            for method in sorted((context.methods or set()) - {"HEAD"}):
                page = not path.startswith("/api/") and isinstance(route, APIRoute)
                query_ids = _query_ids(route) if isinstance(route, APIRoute) else ()
                specs.append(
                    RouteSpec(f"{method} {path}", method, path, page, False, query_ids, group)
                )
    return specs


def openapi_keys(app: FastAPI) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str
    location: str

    @property
    def kind(self) -> str:
        # A page sends a caller who must sign in to /login?next=...; /login alone is where
        # signing out ends.
        # A WebSocket without a signed-in caller is closed at once with "policy violation".
        policy_violation = self.content_type == "ws" and self.status == 1008
        if self.status == 401 or self.location.startswith("/login?") or policy_violation:
            return "auth"
        if self.status in (403, 404) or self._names_a_missing_id():
            return "deny"
        return "ok"

    def _names_a_missing_id(self) -> bool:
        # A write that names an id in its body refuses one it may not use exactly like one that
        # does not exist: 422 on that field, "... does not exist".
        return self.status == 422 and '"field"' in self.body and "does not exist" in self.body

    def normalised(self, sent: str) -> tuple[int, str, str, str]:
        """The answer without what merely echoes the request (the id sent, the instance path)
        or is new with every request (a created object's id and timestamps)."""
        body = self.body
        if self.content_type.endswith("json"):
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                parsed.pop("instance", None)
                if self.status < 300:
                    # What a write just made is new each time: its id and its timestamps.
                    parsed = {
                        key: value
                        for key, value in parsed.items()
                        if key != "id" and not key.endswith("_at")
                    }
                body = json.dumps(parsed, sort_keys=True)
        return (
            self.status,
            self.content_type,
            body.replace(sent, "<id>"),
            self.location.replace(sent, "<id>"),
        )


@dataclass
class Case:
    route: str
    caller: str
    variant: str
    place: str
    answer: Answer


@dataclass
class Oracle:
    route: str
    caller: str
    place: str
    foreign: Answer
    missing: Answer

    def __str__(self) -> str:
        return (
            f"{self.route} as {self.caller}, {self.place}: foreign {self.foreign.status} "
            f"{self.foreign.body[:160]!r} vs missing {self.missing.status} "
            f"{self.missing.body[:160]!r}"
        )


@dataclass
class MatrixRun:
    cases: list[Case] = field(default_factory=list)
    oracles: list[Oracle] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


RECORDING = b"time,Knee L,Knee R\n" + b"\n".join(
    f"{k / 100:.2f},{20 + k % 40},{20 + (k + 20) % 40}".encode() for k in range(300)
)


def _answer(client: TestClient, spec: RouteSpec, url: str, call: Call, **values: Any) -> Answer:
    headers = values["headers"]
    if spec.websocket:
        return _websocket_answer(client, url, headers)
    kwargs: dict[str, Any] = {"headers": headers, "params": values["query"]}
    if call.upload:
        kwargs["data"] = values["form"]
        kwargs["files"] = {"file": ("walk.csv", RECORDING, "text/csv")}
    elif call.form is not None:
        kwargs["data"] = values["form"]
    elif values["json"] is not None or spec.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = values["json"]
    client.cookies.clear()  # a page may set one (language, login form); each request stands alone
    response = client.request(spec.method, url, follow_redirects=False, **kwargs)
    return Answer(
        response.status_code,
        response.headers.get("content-type", "").split(";")[0],
        response.text,
        response.headers.get("location", ""),
    )


def _websocket_answer(client: TestClient, url: str, headers: dict[str, str]) -> Answer:
    client.cookies.clear()
    try:
        with client.websocket_connect(url, headers=headers) as socket:
            # A device socket without an Authorization header waits for a hello; send one
            # without a secret so that it answers instead of waiting (a viewer ignores it).
            socket.send_text('{"v": 1, "type": "hello"}')
            first = socket.receive()
            text = first.get("text") or ""
            if first.get("type") == "websocket.close":
                code = int(first.get("code", 1000))
                return Answer(code - 4000 if code >= 4000 else code, "ws", text, "")
            return Answer(101, "ws", "opened", "")
    except WebSocketDenialResponse as denial:
        return Answer(denial.status_code, "ws", denial.text, "")
    except WebSocketDisconnect as closed:
        code = closed.code
        return Answer(code - 4000 if code >= 4000 else code, "ws", closed.reason or "", "")


class Snapshot:
    """Puts the database back as the world left it, when a request may have changed it."""

    def __init__(self, restore: Callable[[], None]) -> None:
        self._restore = restore
        self.dirty = False
        self.restores = 0

    def saw(self, spec: RouteSpec, answer: Answer) -> None:
        # A refused request rolls its transaction back; only a write that went through counts.
        if spec.method not in ("GET", "WS") and answer.status < 400:
            self.dirty = True

    def clean(self) -> None:
        if self.dirty:
            self._restore()
            self.restores += 1
            self.dirty = False


def _request_parts(spec: RouteSpec, call: Call) -> dict[str, Any]:
    # Every id-naming query parameter is tried, also where the table gives no query at all.
    query = {name: f"@{PATH_PARAM_KINDS[name]}" for name in spec.query_ids} | call.query
    return {"query": query, "json": call.json, "form": call.form}


def run_route(
    client: TestClient,
    matrix: MatrixWorld,
    spec: RouteSpec,
    caller: str,
    expected: str | None,
    snapshot: Snapshot | None,
    own_case: bool = True,
    visible: Callable[[str, str], bool] = lambda caller, kind: False,
    run: MatrixRun | None = None,
) -> MatrixRun:
    """Call one route as one caller: the own case, then each id place foreign and missing."""
    run = run or MatrixRun()
    call = CALLS.get(spec.key, Call())
    headers = matrix.headers.get(caller) or matrix.device_headers.get(
        caller.removeprefix("device_"), {}
    )
    path_names = [match.group(1) for match in PARAM.finditer(spec.path)]
    places: list[tuple[str, str]] = []
    for name in path_names:
        kind = path_param_kind(spec.path, name)
        if kind is not None:
            places.append((f"path:{name}", kind))
    for part, value in _request_parts(spec, call).items():
        places += [(f"{part}:{where}", kind) for where, kind in slots(value)]

    def build(place: str | None, value: str | None) -> tuple[str, dict[str, Any]]:
        def pick(location: str, kind: str, part: str) -> str:
            if place == f"{part}:{location}" and value is not None:
                return value
            return matrix.own_id(caller, kind)

        path = spec.path
        for name in path_names:
            kind = path_param_kind(spec.path, name)
            if kind is None:
                filled = FIXED_PATH_VALUES.get(name, "app.css" if name == "path" else "x")
            elif place == f"path:{name}" and value is not None:
                filled = value
            else:
                filled = matrix.own_id(caller, kind)
            path = PARAM.sub(filled, path, count=1)
        parts = {
            part: fill(content, lambda loc, kind, part=part: pick(loc, kind, part))
            for part, content in _request_parts(spec, call).items()
        }
        return path, {**parts, "headers": headers}

    def ask(place: str | None, value: str | None) -> Answer:
        url, values = build(place, value)
        answer = _answer(client, spec, url, call, **values)
        if snapshot is not None:
            snapshot.saw(spec, answer)
        return answer

    if own_case:
        if snapshot is not None:
            snapshot.clean()
        answer = ask(None, None)
        run.cases.append(Case(spec.key, caller, "own", "", answer))
        if expected is not None and answer.kind != expected:
            run.mismatches.append(
                f"{spec.key} as {caller}: expected {expected}, got {answer.status} "
                f"{answer.body[:200]!r}"
            )
    for place, kind in places:
        foreign_value = matrix.foreign_id(caller, kind)
        missing = missing_value(kind)
        if snapshot is not None:
            snapshot.clean()
        foreign = ask(place, foreign_value)
        absent = ask(place, missing)
        run.cases.append(Case(spec.key, caller, "foreign", place, foreign))
        run.cases.append(Case(spec.key, caller, "missing", place, absent))
        if visible(caller, kind):
            continue  # the caller may know the foreign object: nothing to hide
        if foreign.normalised(foreign_value) != absent.normalised(missing):
            run.oracles.append(Oracle(spec.key, caller, place, foreign, absent))
    return run
