"""Taking role grants back: listing a user's grants and revoking one, audited; and the grants
another rule makes and ends itself (a tele-supervision agreement's cover)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.models import RoleGrant, User
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.auth.scope_tree import paths_of, scope_unit
from exoshare.auth.service import add_grant, visible_user
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


def grant_by_rule(
    session: Session, principal: Principal, user_id: str, role: Role, org_unit_id: str, rule: str
) -> RoleGrant:
    """Grant ``role`` because a rule decided it (``rule`` names it, e.g. ``agreement:<id>``).

    The rule has checked who may ask for it; the grant is audited with the rule as its reason,
    and the rule ends it with :func:`end_grants_by_rule`.
    """
    user = session.get(User, user_id)
    unit = scope_unit(session, org_unit_id)
    if user is None or unit is None:
        raise NotFound(f"user {user_id} or org unit {org_unit_id} not found")
    grant = add_grant(session, user, role, unit, granted_by=principal.user_ref)
    audit.record(
        session,
        principal,
        "grant",
        "role_grant",
        grant.id,
        detail={"user_id": user.id, "role": role.value, "org_unit_id": org_unit_id, "rule": rule},
    )
    return grant


def end_grants_by_rule(
    session: Session, principal: Principal, grant_ids: list[str], rule: str
) -> list[str]:
    """Revoke the grants a rule made (those still active), audited; the users whose grants ended,
    so the caller can close their live views once this commits."""
    if not grant_ids:
        return []
    now = datetime.now(UTC)
    ended: list[str] = []
    for grant in session.scalars(
        select(RoleGrant).where(RoleGrant.id.in_(grant_ids), RoleGrant.revoked_at.is_(None))
    ):
        grant.revoked_at = now
        ended.append(grant.user_id)
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
                "rule": rule,
            },
        )
    return ended
