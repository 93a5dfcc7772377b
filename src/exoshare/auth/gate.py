"""The one gate in front of every route: who the caller is, and what a route requires of them.

HTTP requests resolve their caller in :func:`exoshare.deps.optional_principal` (cookie, CSRF,
bearer token), the live WebSocket in :func:`exoshare.auth.websocket_guard.socket_caller`
(cookie with an Origin check, bearer token), both through the one credential lookup
:func:`exoshare.auth.service.credential_for_request`. Routes state a permission they need
with :func:`require` (API: 403 for a signed-in caller without it) or :func:`page_requires`
(pages: 404, so a page's existence is not advertised). Which ids a caller may touch is decided
in the services, with the filters of :mod:`exoshare.auth.scope`.

>>> UserManager = Annotated[Principal, Depends(require(Permission.users_manage))]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from exoshare.auth.scope import Permission, Principal
from exoshare.deps import current_principal
from exoshare.errors import NotFound, PermissionDenied


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency giving the caller if they hold ``permission`` somewhere, else 403."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(permission):
            raise PermissionDenied(f"this needs the permission {permission.value}")
        return principal

    dependency.__name__ = f"require_{permission.name}"
    return dependency


def page_requires(permission: Permission) -> Callable[[Principal], Principal]:
    """Like :func:`require` for pages: a caller without ``permission`` is told the page does
    not exist, as for any other page outside their scope."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(permission):
            raise NotFound("page not found")
        return principal

    dependency.__name__ = f"page_requires_{permission.name}"
    return dependency
