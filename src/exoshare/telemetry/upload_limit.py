"""The size limit of uploads (recordings, lesson media), enforced on the body as it arrives.

A multipart body is parsed, and its file spooled to disk, before a route handler runs, so a
check in the handler comes after the whole upload was read. This middleware counts the bytes as
the server receives them and answers 413 as soon as the body passes the limit: from the
``Content-Length`` header before reading anything when it already says too much, and from the
count itself when the header is missing (chunked) or lies.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exoshare import problems
from exoshare.errors import UploadTooLarge

FORM_ALLOWANCE_BYTES = 64 * 1024
"""Room for the other form fields (patient, mapping, format, rate) and the multipart framing."""


def upload_limit_bytes(max_upload_mb: int) -> int:
    """The largest recording file accepted."""
    return max_upload_mb * 1024 * 1024


class _BodyTooLarge(Exception):
    """Raised into the application when the body passes the limit, to stop it reading on."""


class UploadSizeLimit:
    """Refuse request bodies to ``paths`` (or paths matching ``path_pattern``) that exceed
    ``max_upload_mb`` (plus the form's room); ``setting`` names the limit in the refusal."""

    def __init__(
        self,
        app: ASGIApp,
        paths: frozenset[str],
        max_upload_mb: int,
        path_pattern: re.Pattern[str] | None = None,
        setting: str = "telemetry_max_upload_mb",
    ) -> None:
        self.app = app
        self.paths = paths
        self.path_pattern = path_pattern
        self.setting = setting
        self.max_upload_mb = max_upload_mb
        self.max_body = upload_limit_bytes(max_upload_mb) + FORM_ALLOWANCE_BYTES

    def _guards(self, path: str) -> bool:
        return path in self.paths or bool(self.path_pattern and self.path_pattern.match(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guards(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # Once the body is over the limit the application's own answer (a parse error) is
            # dropped: this middleware answers 413 instead.
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = UploadTooLarge(
            f"the upload exceeds {self.max_upload_mb} MB ({self.setting})", field="file"
        )
        response = await problems.domain_problem(Request(scope), error)
        # The client may still be sending; closing the connection spares reading the rest.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
