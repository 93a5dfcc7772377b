"""A local HTTP server answering like Twilio's Messages API, started by the tests that use it.

It records every request (path, basic-auth credentials, form fields) and answers from a script
of (status, JSON body) pairs, the last one repeating; success answers carry a message sid.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "test-auth-token"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@dataclass
class Received:
    path: str
    user: str
    password: str
    content_type: str
    form: dict[str, str]


@dataclass
class FakeTwilio:
    script: list[tuple[int, dict[str, Any]]]
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                user, _, password = (
                    base64.b64decode(token).decode().partition(":")
                    if scheme == "Basic"
                    else ("", "", "")
                )
                owner.received.append(
                    Received(
                        self.path, user, password, self.headers.get("Content-Type", ""),
                        {k: v[0] for k, v in parse_qs(raw).items()},
                    )
                )  # fmt: skip
                status, body = owner.script[min(len(owner.received), len(owner.script)) - 1]
                if 200 <= status < 300:
                    body = {"sid": f"SM{len(owner.received):032d}", "status": "queued", **body}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{MESSAGES_PATH}"

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
