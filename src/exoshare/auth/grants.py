"""Taking role grants back: listing a user's grants and revoking one, audited."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.models import RoleGrant
from exoshare.auth.scope import Permission, Principal
from exoshare.auth.scope_tree import paths_of
from exoshare.auth.service import visible_user
from exoshare.errors import Conflict, NotFound, PermissionDenied


def grants_of(session: Session, principal: Principal, user_id: str) -> list[RoleGrant]:
    """The user's grants (revoked ones too, for the record) that lie in the caller's
    ``users:manage`` scope; grants elsewhere are not the caller's business."""
    user = visible_user(session, principal, user_id)
    grants = session.scalars(
        select(RoleGrant)
        .where(RoleGrant.user_id == user.id)
        .order_by(RoleGrant.granted_at, RoleGrant.id)
    ).all()
    paths = paths_of(session, {g.org_unit_id for g in grants})
    return [g for g in grants if principal.covers(Permission.users_manage, paths[g.org_unit_id])]


def revoke_grant(session: Session, principal: Principal, user_id: str, grant_id: str) -> RoleGrant:
    """Revoke one active grant. It stops counting on the user's next request, because every
    request reads the grants afresh.

    A grant the caller may not manage, of another user, or already revoked answers exactly
    like one that does not exist. One the caller can see but could not have granted (a wider
    role) is refused with 403.
    """
    missing = NotFound(f"grant {grant_id} not found")
    grant = session.get(RoleGrant, grant_id, with_for_update=True)
    path = "" if grant is None else paths_of(session, {grant.org_unit_id})[grant.org_unit_id]
    if (
        grant is None
        or grant.user_id != user_id
        or grant.revoked_at is not None
        or not principal.covers(Permission.users_manage, path)
    ):
        raise missing
    if not principal.may_grant(grant.role, path):
        raise PermissionDenied(
            f"you may not revoke the role {grant.role.value}: you could not have granted it"
        )
    if grant.user_id == principal.user_id:
        raise Conflict("you cannot revoke your own grant; ask another administrator")
    grant.revoked_at = datetime.now(UTC)
    audit.record(
        session,
        principal,
        "revoke",
        "role_grant",
        grant.id,
        detail={
            "user_id": grant.user_id,
            "role": grant.role.value,
            "org_unit_id": grant.org_unit_id,
        },
    )
    return grant
