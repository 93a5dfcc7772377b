"""Sending text messages: the ``SmsSender`` interface, Twilio's Messages API over HTTP, and the
local outbox used by the demo and whenever no provider is configured."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.reminders.models import SmsOutboxMessage

HTTP_TIMEOUT_S = 10.0
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class SmsNotSent(Exception):
    """The provider refused the message or could not be reached.

    ``permanent``: sending the same message again cannot succeed (a bad number, bad
    credentials), so it is not retried.
    """

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class TextMessage:
    to_e164: str
    body: str
    patient_id: str | None = None


class SmsSender(Protocol):
    def send(self, message: TextMessage) -> str:
        """Send one message; its id at the provider. Raises :class:`SmsNotSent`."""
        ...


class TwilioSms:
    """Twilio's Messages API: a form POST with HTTP basic auth, answered with JSON.

    Answers 429 and 5xx, and a connection that fails, are tried again after ``backoff_s``,
    doubling each time (a ``Retry-After`` of the provider wins), ``attempts`` times in all;
    any other error answer becomes :class:`SmsNotSent` carrying the provider's own message.
    """

    def __init__(
        self,
        url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        attempts: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self.url = url
        self.sender = sender
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._client = httpx.Client(auth=(account_sid, auth_token), timeout=HTTP_TIMEOUT_S)

    def send(self, message: TextMessage) -> str:
        form = {"To": message.to_e164, "From": self.sender, "Body": message.body}
        wait_s = self.backoff_s
        problem = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            try:
                answer = self._client.post(self.url, data=form)
            except httpx.HTTPError as exc:
                problem = f"the SMS provider could not be reached: {exc}"
                retry_after = None
            else:
                if answer.is_success:
                    return str(answer.json().get("sid", ""))
                problem = _provider_error(answer)
                if answer.status_code not in RETRIED_STATUSES:
                    raise SmsNotSent(problem, permanent=True)
                retry_after = _seconds(answer.headers.get("Retry-After"))
            if attempt < self.attempts:
                time.sleep(retry_after if retry_after is not None else wait_s)
                wait_s *= 2
        raise SmsNotSent(f"{problem} (after {self.attempts} attempts)", permanent=False)

    def close(self) -> None:
        self._client.close()


def _seconds(header: str | None) -> float | None:
    # The HTTP-date form of Retry-After is not used by SMS providers; a number of seconds is.
    try:
        return min(float(header), 60.0) if header else None
    except ValueError:
        return None


def _provider_error(answer: httpx.Response) -> str:
    """The provider's own words: Twilio answers ``{"code": 21211, "message": "..."}``."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        code = f" (code {body['code']})" if body.get("code") is not None else ""
        return f"the SMS provider refused the message: {body['message']}{code}"
    return f"the SMS provider answered HTTP {answer.status_code}: {answer.text[:200]}"


class OutboxSms:
    """Keeps each message in the ``sms_outbox`` table instead of sending it."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def send(self, message: TextMessage) -> str:
        with session_scope(self.factory) as session:
            row = SmsOutboxMessage(
                patient_id=message.patient_id, to_e164=message.to_e164, body=message.body
            )
            session.add(row)
            session.flush()
            return f"outbox:{row.id}"


def sms_sender_for(settings: Settings, factory: sessionmaker[Session]) -> SmsSender:
    """Twilio when ``sms_url`` and its credentials are set, the local outbox otherwise."""
    if settings.sms_url:
        if not (settings.sms_account_sid and settings.sms_auth_token and settings.sms_from):
            raise ValueError(
                "EXOSHARE_SMS_URL needs EXOSHARE_SMS_ACCOUNT_SID, EXOSHARE_SMS_AUTH_TOKEN and "
                "EXOSHARE_SMS_FROM"
            )
        return TwilioSms(
            settings.sms_url,
            settings.sms_account_sid,
            settings.sms_auth_token.get_secret_value(),
            settings.sms_from,
        )
    return OutboxSms(factory)


def outbox(
    session: Session, patient_id: str | None = None, limit: int = 50
) -> list[SmsOutboxMessage]:
    """The newest kept messages first, of one patient or of all."""
    query = select(SmsOutboxMessage).order_by(SmsOutboxMessage.created_at.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(SmsOutboxMessage.patient_id == patient_id)
    return list(session.scalars(query))
