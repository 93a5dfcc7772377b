"""Sending exoshare's e-mail (invitations, password resets) over SMTP."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from exoshare.config import Settings
from exoshare.errors import MailUnavailable

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 10.0


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message."""


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def send_mail(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one plain-text message; False when no SMTP server is configured.

    >>> from exoshare.config import Settings
    >>> send_mail(Settings(smtp_url=None), "ana@example.org", "Hello", "Hi Ana")
    False
    """
    if not settings.smtp_url:
        log.warning("no EXOSHARE_SMTP_URL set: e-mail %r to %s was not sent", subject, to)
        return False
    message = build_message(settings, to, subject, body)
    url = urlsplit(settings.smtp_url)
    if url.scheme not in {"smtp", "smtps"} or not url.hostname:
        raise MailNotSent("EXOSHARE_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
    starttls = parse_qs(url.query).get("starttls", ["auto"])[0]
    try:
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                url.hostname,
                url.port or 465,
                timeout=SMTP_TIMEOUT_S,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(url.hostname, url.port or 25, timeout=SMTP_TIMEOUT_S)
        with client:
            if url.scheme == "smtp" and starttls != "never":
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                elif starttls == "required":
                    raise MailNotSent(f"{url.hostname} does not offer STARTTLS")
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"sending to {to} via {url.hostname} failed: {exc}") from exc
    return True


def send_or_fail(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send now; an unreachable server fails the request so nothing half-done is kept."""
    try:
        send_mail(settings, to, subject, body)
    except MailNotSent as exc:
        raise MailUnavailable(f"{exc}; nothing was saved, try again later") from exc


def send_later(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send after the answer has gone out, so its timing tells nothing about the address."""
    try:
        send_mail(settings, to, subject, body)
    except MailNotSent:
        log.exception("e-mail %r not sent", subject)
