"""Tables of reminders: each patient's preference, the delivery log, and the local SMS outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exoshare.db import Base, IdMixin, utcnow
from exoshare.reminders.schemas import DeliveryStatus, ReminderChannel, ReminderKind


class ReminderPreference(IdMixin, Base):
    """How one patient wants to be reminded: channel, language and lead time before a visit."""

    __tablename__ = "reminder_preferences"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), unique=True)
    channel: Mapped[ReminderChannel] = mapped_column(
        Enum(ReminderChannel, native_enum=False, length=10)
    )
    language: Mapped[str] = mapped_column(String(12))
    lead_hours: Mapped[int] = mapped_column(Integer, default=24)
    phone_e164: Mapped[str | None] = mapped_column(String(16), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)


class ReminderDelivery(IdMixin, Base):
    """One reminder, claimed before it is sent: its unique key is what makes it go once.

    ``occasion_at`` is what the reminder is about (an appointment's start, a programme day's
    reminder hour), not when it is sent: a patient who changes the lead time is not reminded a
    second time of the same visit, and a moved appointment is a new occasion.
    """

    __tablename__ = "reminder_deliveries"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind", "target_id", "occasion_at"),
        Index("ix_reminder_deliveries_status", "status", "next_attempt_at"),
    )

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(Enum(ReminderKind, native_enum=False, length=20))
    target_id: Mapped[str] = mapped_column(String(32))
    occasion_at: Mapped[datetime]
    due_at: Mapped[datetime]
    channel: Mapped[ReminderChannel] = mapped_column(
        Enum(ReminderChannel, native_enum=False, length=10)
    )
    recipient: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(12))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=10)
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(100), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class SmsOutboxMessage(IdMixin, Base):
    """A text message kept locally instead of sent: the demo's, or with no SMS provider set."""

    __tablename__ = "sms_outbox"

    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"), index=True)
    to_e164: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
