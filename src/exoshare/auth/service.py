"""Rules of identity: accounts, logins, credentials and role grants."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from exoshare.auth.models import Credential, RoleGrant, User
from exoshare.auth.passwords import (
    DUMMY_HASH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from exoshare.auth.schemas import CredentialKind, Role
from exoshare.auth.scope import Grant, Permission, Principal
from exoshare.auth.scope_tree import OrgUnitRef, ScopeUnit, org_units, scope_unit
from exoshare.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied

TOKEN_PREFIX = "exo_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _checked_new_account(email: str, password: str) -> str:
    """The normalised e-mail of a new account, once the address and password are acceptable."""
    email = normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise InvalidInput(f"{email!r} is not an e-mail address", field="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return email


def create_user(
    session: Session,
    email: str,
    display_name: str,
    password: str,
    locale: str = "en",
    partner_id: str | None = None,
) -> User:
    email = _checked_new_account(email, password)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with e-mail {email} already exists", field="email")
    user = User(
        email=email,
        display_name=display_name,
        password_hash=hash_password(password),
        locale=locale,
        partner_id=partner_id,
    )
    session.add(user)
    session.flush()
    return user


def add_grant(
    session: Session, user: User, role: Role, org_unit: OrgUnitRef, granted_by: str | None = None
) -> RoleGrant:
    grant = RoleGrant(user_id=user.id, role=role, org_unit_id=org_unit.id, granted_by_id=granted_by)
    session.add(grant)
    session.flush()
    return grant


def grantable_unit(
    session: Session,
    principal: Principal,
    role: Role,
    org_unit_id: str,
    *,
    by_invitation: bool = False,
) -> ScopeUnit:
    """The org unit on which the caller may give ``role``, no wider than their own grant.

    A unit the caller cannot see answers like a missing one: seen in the network (a grant) or
    among the units whose people they manage (an invitation).
    """
    seen_with = Permission.users_manage if by_invitation else Permission.network_read
    org_unit = scope_unit(session, org_unit_id)
    if org_unit is None or not principal.covers(seen_with, org_unit.path):
        raise NotFound(f"org unit {org_unit_id} not found", field="org_unit_id")
    if not principal.may_grant(role, org_unit.path):
        offer, what = (
            ("invite someone as", "an invitation")
            if by_invitation
            else ("grant the role", "a grant")
        )
        raise PermissionDenied(
            f"you may not {offer} {role.value} on {org_unit.code}: {what} cannot be "
            "wider than your own role and subtree"
        )
    return org_unit


def grant_role(
    session: Session, principal: Principal, user_id: str, role: Role, org_unit_id: str
) -> RoleGrant:
    """Grant ``role`` on a subtree; the granter must hold an equal or wider grant."""
    org_unit = grantable_unit(session, principal, role, org_unit_id)
    user = visible_user(session, principal, user_id)
    return add_grant(session, user, role, org_unit, granted_by=principal.user_ref)


def manages(session: Session, principal: Principal, user: User) -> bool:
    """Whether the user is the caller or holds a grant inside the caller's users:manage scope."""
    if user.id == principal.user_id:
        return True
    stmt = (
        select(func.count())
        .select_from(RoleGrant)
        .join(org_units, org_units.c.id == RoleGrant.org_unit_id)
        .where(
            RoleGrant.user_id == user.id,
            principal.org_filter(Permission.users_manage, org_units.c.path),
        )
    )
    return bool(session.scalar(stmt))


def visible_user(session: Session, principal: Principal, user_id: str) -> User:
    """A user the caller manages (any grant inside the caller's users:manage subtrees)."""
    user = session.get(User, user_id)
    if user is None or not principal.can(Permission.users_manage):
        raise NotFound(f"user {user_id} not found")
    if manages(session, principal, user):
        return user
    has_grants = session.scalar(select(func.count()).where(RoleGrant.user_id == user.id))
    # A user with no grants yet was just created by the operator (`exoshare user create`) and
    # may be given a first role.
    if has_grants:
        raise NotFound(f"user {user_id} not found")
    return user


def user_of(session: Session, principal: Principal) -> User:
    """The signed-in caller's own account."""
    user = session.get(User, principal.user_id)
    assert user is not None  # the principal was just read from it
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        verify_password(DUMMY_HASH, password)
        raise NotAuthenticated("e-mail or password is wrong")
    if not user.active or not verify_password(user.password_hash, password):
        raise NotAuthenticated("e-mail or password is wrong")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def issue_credential(
    session: Session,
    user: User,
    kind: CredentialKind,
    ttl: timedelta,
    label: str | None = None,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> tuple[str, Credential]:
    """Create a bearer secret; returns the secret (shown once) and its stored record."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    credential = Credential(
        user_id=user.id,
        kind=kind,
        secret_sha256=_sha256(secret),
        csrf_token=secrets.token_urlsafe(32) if kind is CredentialKind.browser_session else None,
        label=label,
        expires_at=datetime.now(UTC) + ttl,
        client_address=client_address,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(credential)
    session.flush()
    return secret, credential


def credential_for_secret(session: Session, secret: str, kind: CredentialKind) -> Credential | None:
    credential = session.scalar(
        select(Credential)
        .where(Credential.secret_sha256 == _sha256(secret), Credential.kind == kind)
        .options(selectinload(Credential.user))
    )
    if credential is None or credential.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if credential.expires_at <= now or not credential.user.active:
        return None
    return credential


def note_credential_use(
    factory: sessionmaker[Session], credential: Credential, request_session: Session
) -> None:
    """Record when a credential was last used, for its owner's list of sessions.

    At most once a minute, and in a transaction of its own: written inside the request's, this
    bookkeeping made every request of that minute a writer, holding SQLite's write lock for its
    whole length (a setting change held it while it waited for the device). The request's own
    transaction, which has only read the credential so far, ends first and hands its connection
    back: holding it while taking a second one, a burst of requests (browsers opening their live
    sockets at once) each held one connection and waited for another until the pool ran dry.
    """
    now = datetime.now(UTC)
    last = credential.last_used_at
    if last is not None and now - last.replace(tzinfo=last.tzinfo or UTC) <= LAST_USED_RESOLUTION:
        return
    request_session.commit()
    with factory.begin() as own:
        own.execute(
            update(Credential).where(Credential.id == credential.id).values(last_used_at=now)
        )
    set_committed_value(credential, "last_used_at", now)


def credential_for_request(
    session: Session, authorization: str, cookie: str | None
) -> Credential | None:
    """The credential a request or WebSocket handshake presents: a bearer token if it sends an
    Authorization header (malformed, unknown, expired or revoked: NotAuthenticated), else the
    browser session cookie (None when absent or no longer valid, so the caller signs in again).
    """
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        credential = credential_for_secret(session, secret.strip(), CredentialKind.api_token)
        if credential is None:
            raise NotAuthenticated("the bearer token is unknown, expired or revoked")
        return credential
    if not cookie:
        return None
    return credential_for_secret(session, cookie, CredentialKind.browser_session)


def revoke_credential(session: Session, credential: Credential) -> None:
    credential.revoked_at = datetime.now(UTC)


def principal_for(
    session: Session,
    user: User,
    client_address: str | None = None,
    user_agent: str | None = None,
    request_path: str | None = None,
) -> Principal:
    rows = session.execute(
        select(RoleGrant.role, RoleGrant.org_unit_id, org_units.c.path)
        .join(org_units, org_units.c.id == RoleGrant.org_unit_id)
        .where(RoleGrant.user_id == user.id, RoleGrant.revoked_at.is_(None))
        # Oldest first: the first clinic grant is the person's own clinic, later ones cover
        # other clinics (sharing.consent asks the patient's consent for those reads).
        .order_by(RoleGrant.granted_at, RoleGrant.id)
    ).all()
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        locale=user.locale,
        partner_id=user.partner_id,
        grants=tuple(Grant(role, unit_id, path) for role, unit_id, path in rows),
        client_address=client_address,
        user_agent=user_agent,
        request_path=request_path,
    )


def list_users(
    session: Session, principal: Principal, limit: int, offset: int
) -> tuple[list[User], int]:
    if not principal.can(Permission.users_manage):
        return [], 0
    in_scope = (
        select(RoleGrant.user_id)
        .join(org_units, org_units.c.id == RoleGrant.org_unit_id)
        .where(principal.org_filter(Permission.users_manage, org_units.c.path))
    )
    base = select(User).where(User.id.in_(in_scope))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    users = session.scalars(base.order_by(User.email).limit(limit).offset(offset)).all()
    return list(users), total


# ------------------------------------------------- role grants, as other capabilities ask them


def granted_unit_ids(user_id: str, role: Role | None = None) -> Select[str]:
    """A subquery: the org units where the user holds an active grant (of ``role``, if given)."""
    stmt = select(RoleGrant.org_unit_id).where(
        RoleGrant.user_id == user_id, RoleGrant.revoked_at.is_(None)
    )
    return stmt.where(RoleGrant.role == role) if role is not None else stmt


def user_ids_granted_in(
    principal: Principal, permission: Permission, role: Role | None = None
) -> Select[str]:
    """A subquery: the users holding an active grant (of ``role``, if given) inside the
    caller's ``permission`` scope."""
    stmt = (
        select(RoleGrant.user_id)
        .join(org_units, org_units.c.id == RoleGrant.org_unit_id)
        .where(RoleGrant.revoked_at.is_(None), principal.org_filter(permission, org_units.c.path))
    )
    return stmt.where(RoleGrant.role == role) if role is not None else stmt


def users_granted_in(
    session: Session, principal: Principal, permission: Permission, role: Role
) -> list[tuple[str, str, str]]:
    """(id, display name, e-mail) of the holders of ``role`` in the caller's ``permission``
    scope, by name."""
    rows = session.execute(
        select(User.id, User.display_name, User.email)
        .where(User.id.in_(user_ids_granted_in(principal, permission, role)))
        .order_by(User.display_name, User.email)
    )
    return [(user_id, name, email) for user_id, name, email in rows]


def user_identities(session: Session, user_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """user id -> (display name, e-mail), for ids the caller was already allowed to name."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(ids)))
    return {user_id: (name, email) for user_id, name, email in rows}


def therapist_grants(session: Session, org_unit_ids: list[str]) -> list[tuple[str, str]]:
    """(user id, org unit id) of every active therapist grant on these org units, by user and
    then the order granted (a user's first grant comes first)."""
    rows = session.execute(
        select(RoleGrant.user_id, RoleGrant.org_unit_id)
        .where(
            RoleGrant.role == Role.therapist,
            RoleGrant.revoked_at.is_(None),
            RoleGrant.org_unit_id.in_(org_unit_ids),
        )
        .order_by(RoleGrant.user_id, RoleGrant.granted_at, RoleGrant.id)
    )
    return [(user_id, org_unit_id) for user_id, org_unit_id in rows]


# ------------------------------------------------------------------ trusted internal callers
# Seeding and the demo build and read whole networks as a system principal; people never reach
# these functions (a request's principal is never a system one).


def _require_system(principal: Principal, what: str) -> None:
    if not principal.is_system:
        raise PermissionDenied(f"only exoshare itself may {what}")


def create_user_with_hash(
    session: Session,
    principal: Principal,
    email: str,
    display_name: str,
    password_hash: str,
    locale: str = "en",
    partner_id: str | None = None,
) -> User:
    """An account whose password hash the caller computed once for many accounts.

    argon2 is deliberately slow (~50 ms a hash); the demo's ~70 accounts share one password, so
    it hashes once and passes the hash here."""
    _require_system(principal, "create accounts from a password hash")
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with e-mail {email} already exists", field="email")
    user = User(
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        locale=locale,
        partner_id=partner_id,
    )
    session.add(user)
    session.flush()
    return user


def user_by_email(session: Session, principal: Principal, email: str) -> User | None:
    """The account with this e-mail address, or None."""
    _require_system(principal, "look accounts up by e-mail")
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def count_users(session: Session, principal: Principal) -> int:
    """How many accounts exist, with or without a grant."""
    _require_system(principal, "count every account")
    return session.scalar(select(func.count()).select_from(User)) or 0


def users_with_role_at(
    session: Session,
    principal: Principal,
    role: Role,
    org_unit_id: str,
    include_revoked: bool = False,
) -> list[User]:
    """The users granted ``role`` on exactly this org unit, by e-mail."""
    _require_system(principal, "list the holders of a role")
    holders = select(RoleGrant.user_id).where(
        RoleGrant.org_unit_id == org_unit_id, RoleGrant.role == role
    )
    if not include_revoked:
        holders = holders.where(RoleGrant.revoked_at.is_(None))
    return list(session.scalars(select(User).where(User.id.in_(holders)).order_by(User.email)))


@dataclass(frozen=True)
class AccountGrant:
    """One active grant of an account: who, which role, on which org unit."""

    email: str
    display_name: str
    role: Role
    org_unit_id: str


def active_grants_in_domain(
    session: Session, principal: Principal, email_domain: str
) -> list[AccountGrant]:
    """Active grants of the accounts whose e-mail ends in ``@email_domain``, by e-mail and then
    by when each was granted."""
    _require_system(principal, "list the grants of a whole e-mail domain")
    rows = session.execute(
        select(User.email, User.display_name, RoleGrant.role, RoleGrant.org_unit_id)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.email.like(f"%@{email_domain}"), RoleGrant.revoked_at.is_(None))
        .order_by(User.email, RoleGrant.granted_at)
    ).all()
    return [AccountGrant(email, name, Role(role), unit) for email, name, role, unit in rows]


def users_of_partners(session: Session, partner_ids: list[str]) -> dict[str, list[str]]:
    """Partner id -> the active users who belong to that organisation (ids)."""
    out: dict[str, list[str]] = {}
    if not partner_ids:
        return out
    for user_id, partner_id in session.execute(
        select(User.id, User.partner_id).where(
            User.partner_id.in_(partner_ids), User.active.is_(True)
        )
    ):
        if partner_id is not None:  # excluded by the IN above; narrows the type
            out.setdefault(partner_id, []).append(user_id)
    return out


def display_names(session: Session, user_ids: list[str]) -> dict[str, str]:
    """User id -> display name, for people a page already may name (a covering therapist)."""
    if not user_ids:
        return {}
    return dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all()
    )
