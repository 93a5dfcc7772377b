"""The reminder dispatcher: finds what is due, claims each reminder once, sends it, records it.

Exactly once, across restarts and server processes: a reminder is first *claimed* by inserting
its row in ``reminder_deliveries``, whose unique key (patient, kind, target, occasion) lets one
insert win; only the winner sends. A failed send is retried by whoever re-claims the row (an
UPDATE that only one process can make match), a bounded number of times, then marked failed
with the provider's error. A claim left by a process that stopped while sending is never sent
again: it may have gone out, and a second copy is worse than none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.mail import MailNotSent, send_mail
from exoshare.auth.scope import SYSTEM_REMINDERS
from exoshare.careplan import programmes
from exoshare.config import Settings
from exoshare.db import session_scope, utcnow
from exoshare.patients import service as patients_service
from exoshare.reminders.due import (
    appointment_due_at,
    local_day,
    programme_due_at,
    wall_clock,
)
from exoshare.reminders.models import ReminderDelivery, ReminderPreference
from exoshare.reminders.schemas import (
    MAX_LEAD_HOURS,
    DeliveryStatus,
    ReminderChannel,
    ReminderKind,
)
from exoshare.reminders.sms import SmsNotSent, SmsSender, TextMessage
from exoshare.reminders.texts import ReminderText, appointment_text, programme_text
from exoshare.scheduling import bookings

log = logging.getLogger(__name__)

INTERRUPTED_AFTER = timedelta(minutes=15)
"""A claim older than this was left by a process that stopped while sending."""
RETRY_FIRST_WAIT = timedelta(minutes=5)
DST_SLACK = timedelta(hours=2)
"""Wall-clock lead times can be up to an hour longer in real time across a DST change."""


@dataclass(frozen=True)
class DueReminder:
    patient_id: str
    kind: ReminderKind
    target_id: str
    occasion_at: datetime
    due_at: datetime
    channel: ReminderChannel
    recipient: str
    language: str
    text: ReminderText


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name else ZoneInfo("UTC")


def _recipient(preference: ReminderPreference) -> str | None:
    if preference.channel is ReminderChannel.sms:
        return preference.phone_e164
    if preference.channel is ReminderChannel.email:
        return preference.email
    return None


def due_reminders(session: Session, settings: Settings, now: datetime) -> list[DueReminder]:
    """Every reminder due at ``now`` whose occasion has not passed and that no dispatcher has
    claimed yet."""
    wanting = select(ReminderPreference.patient_id).where(
        ReminderPreference.channel != ReminderChannel.none
    )
    preferences = {
        p.patient_id: p
        for p in session.scalars(
            select(ReminderPreference).where(ReminderPreference.channel != ReminderChannel.none)
        )
    }
    found: list[DueReminder] = []
    upcoming = bookings.upcoming_bookings(
        session, SYSTEM_REMINDERS, now, now + timedelta(hours=MAX_LEAD_HOURS) + DST_SLACK, wanting
    )
    for booking in upcoming:
        preference = preferences[booking.patient_id]
        zone = _zone(booking.clinic_timezone)
        due_at = appointment_due_at(booking.starts_at, preference.lead_hours, zone)
        recipient = _recipient(preference)
        if due_at > now or recipient is None:
            continue
        text = appointment_text(
            preference.language,
            booking.clinic_name,
            wall_clock(booking.starts_at, zone),
            booking.clinic_address,
            booking.clinic_phone,
        )
        found.append(
            DueReminder(
                booking.patient_id, ReminderKind.appointment, booking.booking_id,
                booking.starts_at, due_at, preference.channel, recipient, preference.language,
                text,
            )
        )  # fmt: skip
    today = now.date()
    running = programmes.running_programmes(
        session, SYSTEM_REMINDERS, today - timedelta(days=1), today + timedelta(days=1), wanting
    )
    days = {(p.programme_id, local_day(now, _zone(p.clinic_timezone))) for p in running}
    logged = programmes.days_logged(session, [p for p, _ in days], sorted({day for _, day in days}))
    reminded: set[str] = set()
    link = f"{settings.resolved_public_url()}/my/exercises"
    for programme in running:
        zone = _zone(programme.clinic_timezone)
        day = local_day(now, zone)
        due_at = programme_due_at(day, settings.reminders_programme_hour, zone)
        preference = preferences[programme.patient_id]
        recipient = _recipient(preference)
        if (
            not programme.starts_on <= day <= programme.ends_on
            or due_at > now
            or (programme.programme_id, day) in logged
            or programme.patient_id in reminded  # one reminder a day, however many programmes
            or recipient is None
        ):
            continue
        reminded.add(programme.patient_id)
        found.append(
            DueReminder(
                programme.patient_id, ReminderKind.home_programme, programme.programme_id,
                due_at, due_at, preference.channel, recipient, preference.language,
                programme_text(preference.language, link),
            )
        )  # fmt: skip
    # What the log already holds stays due until its occasion passes: leave it out here, so
    # each run tries to claim only what is new (the unique key still decides every race).
    logged_keys = {
        tuple(row)
        for row in session.execute(
            select(
                ReminderDelivery.patient_id,
                ReminderDelivery.kind,
                ReminderDelivery.target_id,
                ReminderDelivery.occasion_at,
            ).where(ReminderDelivery.target_id.in_({item.target_id for item in found}))
        )
    }
    return [
        item
        for item in found
        if (item.patient_id, item.kind, item.target_id, item.occasion_at) not in logged_keys
        and (patient := patients_service.find_patient(session, item.patient_id)) is not None
        and not patient.voided
    ]


class Dispatcher:
    """Sends due reminders through e-mail (exoshare's SMTP sender) or an :class:`SmsSender`."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, sms: SmsSender) -> None:
        self.factory = factory
        self.settings = settings
        self.sms = sms

    def run_once(self, now: datetime | None = None) -> DispatchResult:
        now = now or utcnow()
        result = DispatchResult()
        with session_scope(self.factory) as session:
            self._give_up_interrupted(session, now)
            due = due_reminders(session, self.settings, now)
        claimed = [row_id for item in due if (row_id := self.claim(item, now)) is not None]
        claimed += self._reclaim_retries(now)
        result.claimed = len(claimed)
        for delivery_id in claimed:
            self._deliver(delivery_id, now, result)
        return result

    def _give_up_interrupted(self, session: Session, now: datetime) -> None:
        session.execute(
            update(ReminderDelivery)
            .where(
                ReminderDelivery.status == DeliveryStatus.claimed,
                ReminderDelivery.claimed_at < now - INTERRUPTED_AFTER,
            )
            .values(
                status=DeliveryStatus.failed,
                last_error="the sending process stopped while sending; not sent again, so it "
                "cannot arrive twice",
            )
        )

    def claim(self, item: DueReminder, now: datetime) -> str | None:
        """The new delivery's id, or None when another dispatcher claimed it first."""
        try:
            with session_scope(self.factory) as session:
                row = ReminderDelivery(
                    patient_id=item.patient_id,
                    kind=item.kind,
                    target_id=item.target_id,
                    occasion_at=item.occasion_at,
                    due_at=item.due_at,
                    channel=item.channel,
                    recipient=item.recipient,
                    language=item.language,
                    subject=item.text.subject,
                    body=item.text.body,
                    status=DeliveryStatus.claimed,
                    claimed_at=now,
                )
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            return None

    def _reclaim_retries(self, now: datetime) -> list[str]:
        with session_scope(self.factory) as session:
            waiting = list(
                session.scalars(
                    select(ReminderDelivery.id).where(
                        ReminderDelivery.status == DeliveryStatus.retry,
                        ReminderDelivery.next_attempt_at <= now,
                    )
                )
            )
        won: list[str] = []
        for delivery_id in waiting:
            with session_scope(self.factory) as session:
                taken = session.execute(
                    update(ReminderDelivery)
                    .where(
                        ReminderDelivery.id == delivery_id,
                        ReminderDelivery.status == DeliveryStatus.retry,
                    )
                    .values(status=DeliveryStatus.claimed, claimed_at=now)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    won.append(delivery_id)
        return won

    def _send(self, row: ReminderDelivery) -> str:
        if row.channel is ReminderChannel.sms:
            return self.sms.send(TextMessage(row.recipient, row.body, row.patient_id))
        if not send_mail(self.settings, row.recipient, row.subject, row.body):
            raise MailNotSent("no EXOSHARE_SMTP_URL is set: e-mail reminders cannot be sent")
        return "smtp"

    def _deliver(self, delivery_id: str, now: datetime, result: DispatchResult) -> None:
        with session_scope(self.factory) as session:
            row = session.get_one(ReminderDelivery, delivery_id)
            session.expunge(row)
        try:
            provider_id = self._send(row)
        except (SmsNotSent, MailNotSent) as exc:
            attempts = row.attempts + 1
            permanent = isinstance(exc, SmsNotSent) and exc.permanent
            final = permanent or attempts >= self.settings.reminders_max_attempts
            values = {
                "attempts": attempts,
                "last_error": str(exc),
                "status": DeliveryStatus.failed if final else DeliveryStatus.retry,
                "next_attempt_at": None if final else now + RETRY_FIRST_WAIT * 2 ** (attempts - 1),
            }
            if final:
                result.failed += 1
                log.warning("reminder %s failed: %s", delivery_id, exc)
            else:
                result.retrying += 1
            result.errors.append(str(exc))
        else:
            values = {
                "attempts": row.attempts + 1,
                "status": DeliveryStatus.sent,
                "sent_at": utcnow(),
                "provider_message_id": provider_id[:100],
                "last_error": None,
            }
            result.sent += 1
        with session_scope(self.factory) as session:
            session.execute(
                update(ReminderDelivery).where(ReminderDelivery.id == delivery_id).values(**values)
            )
