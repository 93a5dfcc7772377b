"""Fixtures of the identity tests: a real SMTP server (the demo's aiosmtpd sink) per test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from exoshare.config import Settings
from exoshare.demo.mail_sink import MailSink, StoredMessage, read_messages
from tests.world import World, build_world

PUBLIC_URL = "https://exoshare.test"


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "sink") as sink:
        yield sink


@pytest.fixture
def settings(settings: Settings, mail_sink: MailSink) -> Settings:
    settings.smtp_url = mail_sink.url
    settings.public_url = PUBLIC_URL
    return settings


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return build_world(session_factory)


def inbox(sink: MailSink) -> list[StoredMessage]:
    return read_messages(sink.directory)


def link_token(message: StoredMessage, path: str) -> str:
    """The token of the ``PUBLIC_URL + path`` link in a message."""
    found = re.search(re.escape(PUBLIC_URL + path) + r"\?token=([A-Za-z0-9_\-%]+)", message.body)
    assert found, message.body
    return found.group(1)
