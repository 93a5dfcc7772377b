"""Invitations: an admin offers a role on an org unit to an e-mail address; the invitee
accepts with the e-mailed single-use token, setting a password (or, for an existing
account, proving it with theirs) and receives the grant. Admins list the pending ones in
their scope, withdraw them or send them again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exoshare.auth import audit, service
from exoshare.auth.models import Invitation, RoleGrant, User
from exoshare.auth.passwords import verify_password
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.auth.scope_tree import ScopeUnit, org_units, scope_unit
from exoshare.auth.throttle import LoginThrottler
from exoshare.auth.tokens import new_token, token_hash
from exoshare.errors import Conflict, InvalidInput, NotFound, PermissionDenied

INVALID_TOKEN = "this invitation link is unknown, already used or expired: ask for a new one"


def _checked_address(email: str) -> str:
    email = service.normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidInput(f"{email!r} is not an e-mail address", field="email")
    return email


def _unit_of(session: Session, invitation: Invitation) -> ScopeUnit:
    """The org unit an invitation offers a role on (the foreign key guarantees it exists)."""
    unit = scope_unit(session, invitation.org_unit_id)
    if unit is None:  # pragma: no cover - the foreign key forbids it
        raise NotFound(f"org unit {invitation.org_unit_id} not found")
    return unit


def _record(
    session: Session,
    principal: Principal,
    email: str,
    role: Role,
    org_unit: ScopeUnit,
    ttl: timedelta,
) -> tuple[Invitation, str]:
    token, digest = new_token()
    invitation = Invitation(
        email=email,
        role=role,
        org_unit_id=org_unit.id,
        invited_by_id=principal.user_ref,
        token_sha256=digest,
        expires_at=datetime.now(UTC) + ttl,
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session,
        principal,
        "invite",
        "invitation",
        invitation.id,
        detail={"role": role.value, "org_unit_id": org_unit.id},
    )
    return invitation, token


def invite(
    session: Session,
    principal: Principal,
    email: str,
    role: Role,
    org_unit_id: str,
    ttl: timedelta,
) -> tuple[Invitation, str]:
    """Record an invitation; returns it and its token (to be e-mailed, never stored)."""
    email = _checked_address(email)
    org_unit = service.grantable_unit(session, principal, role, org_unit_id, by_invitation=True)
    return _record(session, principal, email, role, org_unit, ttl)


def invite_to_role(
    session: Session,
    principal: Principal,
    email: str,
    role: Role,
    org_unit_id: str,
    ttl: timedelta,
) -> tuple[Invitation, str]:
    """Invite a person to a role, whether or not their address has an account; returns the
    invitation and its token (to be e-mailed, never stored).

    No account or grant exists until the person accepts: a new person then chooses their own
    password, someone already registered proves theirs. A new address and one registered to
    someone the caller does not manage therefore take the same path (the same rows, audit event,
    answer and listings), so the caller cannot learn which addresses hold an account anywhere
    in the network. Every check that does not depend on the address runs first. An address of
    someone the caller already manages is a plain conflict: the caller lists them anyway.
    """
    email = _checked_address(email)
    org_unit = service.grantable_unit(session, principal, role, org_unit_id, by_invitation=True)
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None and service.manages(session, principal, existing):
        raise Conflict(f"a user with e-mail {email} already exists", field="email")
    return _record(session, principal, email, role, org_unit, ttl)


def open_invitation(session: Session, token: str) -> Invitation:
    """The pending invitation of ``token``, locked for acceptance."""
    invitation = session.scalar(
        select(Invitation).where(Invitation.token_sha256 == token_hash(token)).with_for_update()
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.withdrawn_at is not None
        or invitation.expires_at <= datetime.now(UTC)
    ):
        raise NotFound(INVALID_TOKEN, field="token")
    return invitation


def pending(
    session: Session, principal: Principal, limit: int, offset: int
) -> tuple[list[Invitation], int]:
    """Invitations neither accepted nor withdrawn (expired ones too, so they can be sent
    again) on org units in the caller's ``users:manage`` scope, newest first."""
    where = (
        Invitation.accepted_at.is_(None),
        Invitation.withdrawn_at.is_(None),
        principal.org_filter(Permission.users_manage, org_units.c.path),
    )
    base = (
        select(Invitation).join(org_units, org_units.c.id == Invitation.org_unit_id).where(*where)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(
        base.order_by(Invitation.created_at.desc(), Invitation.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def _managed_pending(session: Session, principal: Principal, invitation_id: str) -> Invitation:
    """A pending invitation the caller may act on. One outside the caller's scope, accepted or
    withdrawn answers exactly like one that does not exist; one the caller can see but could
    not have sent (a wider role) is refused with 403."""
    invitation = session.get(Invitation, invitation_id, with_for_update=True)
    path = "" if invitation is None else _unit_of(session, invitation).path
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.withdrawn_at is not None
        or not principal.covers(Permission.users_manage, path)
    ):
        raise NotFound(f"invitation {invitation_id} not found")
    if not principal.may_grant(invitation.role, path):
        raise PermissionDenied(
            f"you may not act on an invitation as {invitation.role.value}: you could not have "
            "sent it"
        )
    return invitation


def withdraw(session: Session, principal: Principal, invitation_id: str) -> Invitation:
    """Withdraw a pending invitation (audited): its link stops working at once."""
    invitation = _managed_pending(session, principal, invitation_id)
    invitation.withdrawn_at = datetime.now(UTC)
    audit.record(
        session,
        principal,
        "withdraw",
        "invitation",
        invitation.id,
        detail={"role": invitation.role.value, "org_unit_id": invitation.org_unit_id},
    )
    return invitation


def resend(
    session: Session, principal: Principal, invitation_id: str, ttl: timedelta
) -> tuple[Invitation, str]:
    """A new link for a pending invitation, valid ``ttl`` from now (audited); returns the
    invitation and the new token. Only the token's hash is kept, so the old link cannot be
    sent again: it stops working, and only the newest mail opens the invitation."""
    invitation = _managed_pending(session, principal, invitation_id)
    token, digest = new_token()
    invitation.token_sha256 = digest
    invitation.expires_at = datetime.now(UTC) + ttl
    session.flush()
    audit.record(
        session,
        principal,
        "resend",
        "invitation",
        invitation.id,
        detail={"role": invitation.role.value, "org_unit_id": invitation.org_unit_id},
    )
    return invitation, token


def account_exists(session: Session, invitation: Invitation) -> bool:
    """For the invitee's page only: whether to ask for a new password or their current one."""
    return session.scalar(select(User.id).where(User.email == invitation.email)) is not None


def accept(
    session: Session,
    token: str,
    password: str,
    display_name: str | None,
    throttler: LoginThrottler,
    client_address: str | None,
    locale: str = "en",
) -> tuple[User, RoleGrant]:
    """Use the token once: create the account (or check the existing one's password, behind
    the same throttle as signing in) and grant the invited role."""
    invitation = open_invitation(session, token)
    user = session.scalar(select(User).where(User.email == invitation.email))
    if user is not None:
        throttler.check(user.email, client_address)
        if not user.active or not verify_password(user.password_hash, password):
            throttler.failed(user.email, client_address)
            raise InvalidInput(
                "an account with this e-mail exists: type its current password to accept",
                field="password",
            )
        throttler.succeeded(user.email)
    else:
        if not display_name or not display_name.strip():
            raise InvalidInput("type the name others should see", field="display_name")
        user = service.create_user(
            session, invitation.email, display_name.strip()[:200], password, locale
        )
    grant = service.add_grant(
        session,
        user,
        invitation.role,
        _unit_of(session, invitation),
        granted_by=invitation.invited_by_id,
    )
    invitation.accepted_at = datetime.now(UTC)
    invitation.accepted_user_id = user.id
    return user, grant


def unit_name(session: Session, invitation: Invitation) -> str:
    """The name of the org unit an invitation offers a role on, as the invitee reads it."""
    return _unit_of(session, invitation).name


def invitation_mail(
    session: Session, base_url: str, invitation: Invitation, token: str
) -> tuple[str, str]:
    """Subject and body of the invitation e-mail."""
    link = f"{base_url}/invitation?token={quote(token)}"
    subject = "You are invited to exoshare"
    body = (
        f"You have been invited to exoshare as {invitation.role.value.replace('_', ' ')} "
        f"of {unit_name(session, invitation)}.\n\n"
        f"Accept the invitation and choose your password here:\n{link}\n\n"
        f"The link works once and until {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
        "If you did not expect this message, ignore it.\n"
    )
    return subject, body
