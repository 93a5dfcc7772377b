"""Device credentials: issuing and revoking a device's secret, and knowing a device by it.

A device proves itself with a secret shown once at issue time; only its SHA-256 (and, for
Mosquitto, its password-file hash) is stored. Unknown and revoked secrets are refused alike.
Devices are known to telemetry by their unit's id and serial (:class:`DeviceRef`); the units
themselves belong to ``devices`` and are reached through its service.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.devices import service as devices_service
from exoshare.errors import DeviceNotAuthenticated, NotFound, PermissionDenied, TelemetryRejected
from exoshare.network import service as network_service
from exoshare.telemetry.models import DeviceCredential
from exoshare.telemetry.mosquitto_hash import password_hash

log = logging.getLogger(__name__)

DEVICE_SECRET_PREFIX = "exodev_"


class Device(Protocol):
    """What telemetry needs to know of a device unit: its id and serial number."""

    @property
    def id(self) -> str: ...

    @property
    def serial_number(self) -> str: ...


@dataclass(frozen=True)
class DeviceRef:
    """A device unit as telemetry knows it (no ORM object: ingestion makes one per device)."""

    id: str
    serial_number: str
    org_unit_code: str | None = None
    """The code of the org unit that owns it, when the lookup asked for it."""


def secret_digest(secret: str) -> str:
    """The SHA-256 (hex) a secret is stored and looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


_revocations = 0
"""Counts credential revocations in this process; caches of verified credentials compare it."""


def revocation_epoch() -> int:
    """Changes whenever a credential is revoked in this process (see ``CredentialCache``)."""
    return _revocations


@dataclass(frozen=True)
class CredentialChange:
    """A credential issued or revoked, told to the brokers after its transaction committed."""

    kind: str
    """``issued`` or ``revoked``."""
    credential_id: str
    device_serial: str


CredentialListener = Callable[[CredentialChange], None]
_credential_listeners: list[CredentialListener] = []


def add_credential_listener(listener: CredentialListener) -> Callable[[], None]:
    """Call ``listener`` (in the committing thread) after each issue or revocation commits in
    this process: the embedded broker cuts a revoked device off, the Mosquitto files are
    rewritten. Returns a function that removes it again."""
    _credential_listeners.append(listener)
    return lambda: _credential_listeners.remove(listener)


def _after_commit(session: Session, change: CredentialChange) -> None:
    # After the commit, not at the change: a device cut off at once would reconnect while the
    # revocation is not yet visible to the broker's check, and stay connected.
    def tell(_: Session) -> None:
        for listener in list(_credential_listeners):
            try:
                listener(change)
            except Exception:
                log.exception("credential listener failed on %s", change)

    event.listen(session, "after_commit", tell, once=True)


def _unit_for_admin(session: Session, principal: Principal, unit_id: str) -> DeviceRef:
    units = devices_service.unit_identities()
    row = session.execute(
        select(units.c.id, units.c.serial_number, units.c.org_unit_id).where(units.c.id == unit_id)
    ).one_or_none()
    owner = network_service.find_org_unit(session, row.org_unit_id) if row is not None else None
    if row is None or owner is None:
        raise NotFound(f"device unit {unit_id} not found")
    if not principal.covers(Permission.units_write, owner.path):
        if principal.covers(Permission.devices_read, owner.path):
            raise PermissionDenied(f"you may not manage credentials of {row.serial_number}")
        raise NotFound(f"device unit {unit_id} not found")
    return DeviceRef(row.id, row.serial_number)


def issue_device_credential(
    session: Session, principal: Principal, unit_id: str, label: str | None = None
) -> tuple[str, DeviceCredential]:
    """A new secret for a device (shown once); the CLI and the demo pass their system principal."""
    unit = _unit_for_admin(session, principal, unit_id)
    secret = DEVICE_SECRET_PREFIX + secrets.token_urlsafe(32)
    credential = DeviceCredential(
        device_unit_id=unit.id,
        secret_sha256=secret_digest(secret),
        broker_password_hash=password_hash(secret),
        label=label,
        issued_by_id=principal.user_ref,
    )
    session.add(credential)
    session.flush()
    _after_commit(session, CredentialChange("issued", credential.id, unit.serial_number))
    return secret, credential


def revoke_device_credential(
    session: Session, principal: Principal, credential_id: str
) -> DeviceCredential:
    credential = session.get(DeviceCredential, credential_id)
    if credential is None:
        raise NotFound(f"device credential {credential_id} not found")
    try:
        unit = _unit_for_admin(session, principal, credential.device_unit_id)
    except NotFound:
        # Told about the unit, the caller would learn the credential exists and whose it is.
        raise NotFound(f"device credential {credential_id} not found") from None
    if credential.revoked_at is None:
        credential.revoked_at = datetime.now(UTC)
    global _revocations
    _revocations += 1
    _after_commit(session, CredentialChange("revoked", credential.id, unit.serial_number))
    return credential


def authenticate_device(session: Session, secret: str | None) -> DeviceRef:
    """The device a secret belongs to; unknown and revoked secrets are refused alike."""
    if not secret:
        raise DeviceNotAuthenticated("a device credential is required")
    unit_id, serial = credential_unit(session, secret_digest(secret))
    return DeviceRef(unit_id, serial)


def credential_unit(session: Session, digest: str) -> tuple[str, str]:
    """(unit id, serial) of the device a secret's SHA-256 belongs to, in one query and without
    ORM objects: all ingestion needs, re-checked for every device every few seconds (see
    :class:`~exoshare.telemetry.ingest.CredentialCache`). Refuses as :func:`authenticate_device`.
    """
    units = devices_service.unit_identities()
    row = session.execute(
        select(units.c.id, units.c.serial_number, DeviceCredential.revoked_at)
        .join(units, units.c.id == DeviceCredential.device_unit_id)
        .where(DeviceCredential.secret_sha256 == digest)
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise DeviceNotAuthenticated("the device credential is unknown or revoked")
    return row.id, row.serial_number


def serial_unit(session: Session, serial: str) -> tuple[str, str]:
    """(unit id, serial) of the device ``serial`` if it holds an unrevoked credential.

    On MQTT the broker has authenticated the device (username = serial) and its ACL lets it
    publish only on its own topics, so the topic's serial names the sender; ingestion still
    refuses a serial without a live credential (a broker misconfigured to let anyone in).
    """
    found = serial_units(session, [serial]).get(serial)
    if found is None:
        raise DeviceNotAuthenticated(f"{serial!r} holds no valid device credential")
    return found


def serial_units(session: Session, serials: Collection[str]) -> dict[str, tuple[str, str]]:
    """:func:`serial_unit` of many devices in one query: serial → (unit id, serial) for those
    that hold an unrevoked credential (the others are absent)."""
    if not serials:
        return {}
    units = devices_service.unit_identities()
    rows = session.execute(
        select(units.c.id, units.c.serial_number)
        .join(DeviceCredential, DeviceCredential.device_unit_id == units.c.id)
        .where(units.c.serial_number.in_(list(serials)), DeviceCredential.revoked_at.is_(None))
        .distinct()
    )
    return {row.serial_number: (row.id, row.serial_number) for row in rows}


def device_by_id(session: Session, unit_id: str) -> DeviceRef | None:
    """The device unit ``unit_id`` (for a connection authenticated earlier), or None if gone."""
    units = devices_service.unit_identities()
    row = session.execute(
        select(units.c.id, units.c.serial_number).where(units.c.id == unit_id)
    ).one_or_none()
    return DeviceRef(row.id, row.serial_number) if row is not None else None


def unit_by_serial(session: Session, serial: str) -> DeviceRef:
    """The device with this serial, with the code of its owner (for the CLI and imports)."""
    units = devices_service.unit_identities()
    row = session.execute(
        select(
            units.c.id,
            units.c.serial_number,
            network_service.code_of(units.c.org_unit_id).label("code"),
        ).where(units.c.serial_number == serial)
    ).one_or_none()
    if row is None:
        raise TelemetryRejected("unknown-device", f"no device with serial {serial!r}")
    return DeviceRef(row.id, row.serial_number, row.code)


@dataclass(frozen=True)
class BrokerDevice:
    """A device the broker let in: which credential, and the clinic whose topics it uses."""

    credential_id: str
    serial: str
    org_unit_code: str


def broker_device(session: Session, serial: str, secret: str) -> BrokerDevice | None:
    """The device ``serial`` if ``secret`` is one of its unrevoked credentials, else None.

    Unknown serial, wrong secret and revoked secret answer alike."""
    units = devices_service.unit_identities()
    row = session.execute(
        select(
            DeviceCredential.id,
            units.c.serial_number,
            network_service.code_of(units.c.org_unit_id).label("code"),
        )
        .join(units, units.c.id == DeviceCredential.device_unit_id)
        .where(
            DeviceCredential.secret_sha256 == secret_digest(secret),
            DeviceCredential.revoked_at.is_(None),
        )
    ).one_or_none()
    if row is None or row.serial_number != serial:
        return None
    return BrokerDevice(row.id, row.serial_number, row.code)


def revoked_among(session: Session, credential_ids: Iterable[str]) -> set[str]:
    """Which of these credentials are revoked (or gone): the broker's sweep for revocations
    made by another process."""
    wanted = set(credential_ids)
    if not wanted:
        return set()
    live = session.scalars(
        select(DeviceCredential.id).where(
            DeviceCredential.id.in_(wanted), DeviceCredential.revoked_at.is_(None)
        )
    ).all()
    return wanted - set(live)
