"""Who may open a live WebSocket: a known credential, and for cookies only the app's own pages."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from starlette.websockets import WebSocket

from exoshare.auth import service
from exoshare.auth.gate import SESSION_COOKIE
from exoshare.auth.schemas import CredentialKind
from exoshare.auth.scope import Principal
from exoshare.auth.totp import service as totp
from exoshare.config import Settings
from exoshare.errors import NotAuthenticated
from exoshare.runtime import runtime_of


@dataclass(frozen=True)
class SocketCaller:
    principal: Principal
    credential_id: str
    by_cookie: bool


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(websocket: WebSocket, settings: Settings) -> set[str]:
    """The app's own origin as the browser reached it, the configured public address, and
    whatever else the settings allow."""
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = {f"{scheme}://{websocket.headers.get('host', '')}".lower()}
    if settings.public_url:
        own.add(_origin(settings.public_url))
    return own | {_origin(o) for o in settings.websocket_allowed_origins}


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """Whether a cookie-authenticated socket comes from a page of exoshare itself.

    Browsers attach cookies to WebSocket handshakes from any site and no CORS rule stops
    them, so without this check any page a signed-in therapist visits could watch their
    patients' live sessions. A handshake without Origin is refused too: browsers always send it.
    """
    origin = websocket.headers.get("origin")
    return origin is not None and origin.lower() in allowed_origins(websocket, settings)


def socket_caller(session: Session, websocket: WebSocket) -> SocketCaller | None:
    """The caller of a WebSocket, from a bearer token or the browser's session cookie.

    The same credential lookup as every HTTP request's (:func:`service.credential_for_request`),
    so a header that would be refused there finds no caller here either.
    """
    try:
        credential = service.credential_for_request(
            session,
            websocket.headers.get("authorization", ""),
            websocket.cookies.get(SESSION_COOKIE),
        )
    except NotAuthenticated:
        return None
    if credential is None:
        return None
    service.note_credential_use(runtime_of(websocket).sessionmaker, credential, session)
    by_cookie = credential.kind is CredentialKind.browser_session
    principal = service.principal_for(
        session,
        credential.user,
        client_address=websocket.client.host if websocket.client else None,
        user_agent=websocket.headers.get("user-agent"),
        request_path=websocket.url.path,
    )
    settings: Settings = runtime_of(websocket).settings
    if totp.needs_enrolment(session, principal, settings.require_totp_for_admins):
        return None
    return SocketCaller(principal, credential.id, by_cookie)
