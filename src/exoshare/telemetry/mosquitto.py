"""Mosquitto for production: its password and ACL files, written from the database and reloaded.

The same model as the embedded broker (:mod:`exoshare.telemetry.broker_acl`): no anonymous
clients; each device logs in with its serial and its newest unrevoked credential (Mosquitto
keeps one password per username) and may publish only its own telemetry and read only its own
commands and receipts, on the topics of the clinic that holds it; the server identity reads
all telemetry and alone writes commands and receipts.

The files are rewritten whole (temporary file, rename) whenever a credential is issued or
revoked in a process that knows ``EXOSHARE_MOSQUITTO_DIR`` (the web server, the CLI), and on
``exoshare broker sync``; then Mosquitto is sent SIGHUP (``EXOSHARE_MOSQUITTO_PID_FILE``), which
reloads both files and disconnects every client whose password no longer matches, so a revoked
device is cut off at once. A device moved to another clinic gets its new topics at the next
sync. ``exoshare broker config`` also writes a ``mosquitto.conf`` that uses the files.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.db import session_scope
from exoshare.devices import service as devices_service
from exoshare.network import service as network_service
from exoshare.telemetry import credentials
from exoshare.telemetry.broker_acl import (
    DEVICE_PUBLISHES,
    DEVICE_READS,
    SERVER_PUBLISHES,
    SERVER_USERNAME,
    device_grant,
)
from exoshare.telemetry.models import DeviceCredential
from exoshare.telemetry.mosquitto_hash import password_hash
from exoshare.telemetry.protocol import TOPIC_ROOT, topic

log = logging.getLogger(__name__)

PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
CONFIG_FILE = "mosquitto.conf"
_UNSAFE = frozenset(" \t\r\n:#")
"""Characters that would break a password-file or ACL line."""


@dataclass(frozen=True)
class BrokerUser:
    """One device as Mosquitto knows it."""

    serial: str
    org_unit_code: str
    password_hash: str


def broker_users(session: Session) -> list[BrokerUser]:
    """Every device with an unrevoked credential that has a broker hash, its newest one each.

    Devices whose serial or clinic code cannot be written into the files are left out (and
    logged): they cannot connect, which is the safe side.
    """
    units = devices_service.unit_identities()
    rows = session.execute(
        select(
            units.c.serial_number,
            network_service.code_of(units.c.org_unit_id),
            DeviceCredential.broker_password_hash,
        )
        .join(units, units.c.id == DeviceCredential.device_unit_id)
        .where(
            DeviceCredential.revoked_at.is_(None),
            DeviceCredential.broker_password_hash.is_not(None),
        )
        .order_by(units.c.serial_number, DeviceCredential.created_at, DeviceCredential.id)
    ).all()
    newest: dict[str, BrokerUser] = {}
    for serial, code, hashed in rows:
        if hashed is None:  # pragma: no cover - the query leaves them out
            continue
        if _UNSAFE & set(serial) or _UNSAFE & set(code):
            log.warning("device %r of %r cannot be a Mosquitto user; left out", serial, code)
            continue
        try:
            device_grant(code, serial)
        except ValueError as exc:
            log.warning("device %r left out of Mosquitto's files: %s", serial, exc)
            continue
        newest[serial] = BrokerUser(serial, code, hashed)  # ordered by issue time: last wins
    return list(newest.values())


def password_file(users: list[BrokerUser], server_password: str) -> str:
    """Mosquitto's ``password_file``: the server identity and one line per device."""
    lines = [f"{SERVER_USERNAME}:{password_hash(server_password)}"]
    lines += [f"{user.serial}:{user.password_hash}" for user in users]
    return "\n".join(lines) + "\n"


def acl_file(users: list[BrokerUser]) -> str:
    """Mosquitto's ``acl_file``: exact topics per device, telemetry and commands for the server.

    >>> print(acl_file([BrokerUser("SX2-0001", "ES-MAD-01", "$7$...")]), end="")
    # exoshare: generated from the device credentials; `exoshare broker sync` rewrites it
    user exoshare-server
    topic read exoshare/v1/#
    topic write exoshare/v1/+/+/commands
    topic write exoshare/v1/+/+/receipts
    <BLANKLINE>
    user SX2-0001
    topic write exoshare/v1/ES-MAD-01/SX2-0001/session
    topic write exoshare/v1/ES-MAD-01/SX2-0001/samples
    topic write exoshare/v1/ES-MAD-01/SX2-0001/events
    topic write exoshare/v1/ES-MAD-01/SX2-0001/acks
    topic read exoshare/v1/ES-MAD-01/SX2-0001/commands
    topic read exoshare/v1/ES-MAD-01/SX2-0001/receipts
    <BLANKLINE>
    """
    lines = [
        "# exoshare: generated from the device credentials; `exoshare broker sync` rewrites it",
        f"user {SERVER_USERNAME}",
        f"topic read {TOPIC_ROOT}/#",
    ]
    lines += [f"topic write {TOPIC_ROOT}/+/+/{kind}" for kind in sorted(SERVER_PUBLISHES)]
    lines.append("")
    for user in users:
        lines.append(f"user {user.serial}")
        lines += [
            f"topic write {topic(user.org_unit_code, user.serial, kind)}"
            for kind in DEVICE_PUBLISHES
        ]
        lines += [
            f"topic read {topic(user.org_unit_code, user.serial, kind)}" for kind in DEVICE_READS
        ]
        lines.append("")
    return "\n".join(lines) + "\n"


def config_file(
    directory: Path, port: int = 1883, bind: str = "127.0.0.1", run_as: str | None = None
) -> str:
    """A ``mosquitto.conf`` that authenticates every client against the generated files.

    ``run_as``: the user Mosquitto keeps when started as root (it otherwise drops to
    ``mosquitto``, which must then be able to read the files at every reload)."""
    lines = [
        "# exoshare: Mosquitto with device trust (docs/protocol.md, Authentication)",
        "per_listener_settings false",
        f"listener {port} {bind}",
        "allow_anonymous false",
        f"password_file {directory.resolve() / PASSWORD_FILE}",
        f"acl_file {directory.resolve() / ACL_FILE}",
    ]
    if run_as is not None:
        lines.append(f"user {run_as}")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    # Created readable by its owner only: Mosquitto (started by the same user) reads it.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_files(session: Session, directory: Path, server_password: str) -> int:
    """Write the password and ACL files into ``directory``; returns how many devices."""
    directory.mkdir(parents=True, exist_ok=True)
    users = broker_users(session)
    # The ACL first: for a moment a new device may have topics but no password, never a
    # password without its topics being the ones just written.
    _write(directory / ACL_FILE, acl_file(users))
    _write(directory / PASSWORD_FILE, password_file(users, server_password))
    return len(users)


def reload(pid_file: Path | None) -> bool:
    """SIGHUP to the Mosquitto whose pid is in ``pid_file``; False when there is none."""
    if pid_file is None:
        return False
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        log.error("Mosquitto not reloaded (pid file %s): %s", pid_file, exc)
        return False
    return True


@dataclass
class MosquittoSync:
    """Keeps a Mosquitto's files in step with the credentials (a credential listener)."""

    factory: sessionmaker[Session]
    directory: Path
    server_password: str
    pid_file: Path | None = None

    def sync(self) -> int:
        """Rewrite both files and reload Mosquitto; how many devices it now knows."""
        with session_scope(self.factory) as session:
            count = write_files(session, self.directory, self.server_password)
        reload(self.pid_file)
        return count

    def on_credential_change(self, change: credentials.CredentialChange) -> None:
        self.sync()
        log.info("Mosquitto files rewritten: %s %s", change.kind, change.device_serial)
