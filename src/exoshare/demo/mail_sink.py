"""The demo's local SMTP sink: accepts every message and keeps it as a file in the data dir.

`exoshare demo` runs one so invitations and password resets can be followed without a mail
server; `exoshare mail list` and `exoshare mail show N` read what it kept.
"""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def mail_dir(data_dir: Path) -> Path:
    return data_dir / "mail"


def _free_port(host: str) -> int:
    # aiosmtpd checks its server by connecting to the configured port, so it needs a real one.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _KeepMessages:
    """aiosmtpd handler: each DATA becomes one numbered .eml file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        number = len(list(self.directory.glob("*.eml"))) + 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        # Write then rename, so a reader never sees half a message.
        final = self.directory / f"{number:05d}-{stamp}.eml"
        partial = final.with_suffix(".part")
        partial.write_bytes(envelope.content)
        partial.rename(final)
        return "250 Message accepted for delivery"


class MailSink:
    """A real SMTP server on ``host:port`` (0: any free port) writing into ``directory``.

    >>> import tempfile, smtplib
    >>> with tempfile.TemporaryDirectory() as d, MailSink(Path(d)) as sink:
    ...     with smtplib.SMTP(sink.host, sink.port) as client:
    ...         _ = client.sendmail("a@example.org", ["b@example.org"], "Subject: hi\\n\\nhello")
    ...     [m.subject for m in read_messages(Path(d))]
    ['hi']
    """

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory
        self.host = host
        self.port = port or _free_port(host)
        self._controller = Controller(_KeepMessages(directory), hostname=host, port=self.port)

    @property
    def url(self) -> str:
        # The sink speaks plain SMTP on localhost only.
        return f"smtp://{self.host}:{self.port}?starttls=never"

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass(frozen=True)
class StoredMessage:
    number: int
    path: Path
    received_at: str
    to: str
    subject: str
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


def read_messages(directory: Path) -> list[StoredMessage]:
    """The kept messages, oldest first, numbered from 1."""
    messages = []
    for number, path in enumerate(sorted(directory.glob("*.eml")), start=1):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(
            StoredMessage(
                number,
                path,
                path.stem.split("-", 1)[-1],
                str(parsed.get("To", "")),
                str(parsed.get("Subject", "")),
                parsed,
            )
        )
    return messages
