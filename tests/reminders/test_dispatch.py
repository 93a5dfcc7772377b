"""The dispatcher: due reminders go once, in the patient's language, even with two dispatchers
racing (SQLite and PostgreSQL); failures are retried a bounded number of times."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.careplan import exercises, programmes
from exoshare.careplan.schemas import (
    AdherenceStatus,
    Difficulty,
    ExerciseCategory,
    ExerciseTextIn,
    ProgrammeItemIn,
)
from exoshare.config import Settings
from exoshare.db import session_scope
from exoshare.demo.mail_sink import MailSink, read_messages
from exoshare.network.models import OrgUnit
from exoshare.reminders import preferences
from exoshare.reminders.dispatch import Dispatcher, due_reminders
from exoshare.reminders.models import ReminderDelivery, SmsOutboxMessage
from exoshare.reminders.schemas import DeliveryStatus, PreferenceIn
from exoshare.reminders.sms import OutboxSms, TwilioSms
from exoshare.scheduling.bookings import insert_sessions
from exoshare.scheduling.models import BookedSession
from exoshare.scheduling.schemas import BookingStatus
from tests.reminders.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.world import World, build_world

SUNDAY_10_CEST = datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
"""Carlos's appointment at the Madrid clinic, the morning Madrid moves to summer time."""


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    world = build_world(session_factory)
    with session_scope(session_factory) as s:
        s.get_one(OrgUnit, world.ids["madrid"]).timezone = "Europe/Madrid"
        s.get_one(OrgUnit, world.ids["barcelona"]).timezone = "Europe/Madrid"
    return world


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as running:
        yield running


def _settings(sink: MailSink, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        smtp_url=sink.url,
        public_url="https://exoshare.example.org",
        reminders_max_attempts=2,
    )


def _prefer(factory: sessionmaker[Session], patient_id: str, **choice: object) -> None:
    with session_scope(factory) as s:
        preferences.set_preference(s, SYSTEM_SEEDING, patient_id, PreferenceIn(**choice))  # type: ignore[arg-type]


def _book(factory: sessionmaker[Session], world: World, patient: str, starts_at: datetime) -> str:
    with session_scope(factory) as s:
        row = BookedSession(
            patient_id=world.ids[f"patient_{patient}"],
            unit_id=world.ids["unit_madrid"],
            therapist_id=world.ids["therapist_madrid"],
            clinic_id=world.ids["madrid"],
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=45),
        )
        insert_sessions(s, [row])
        return row.id


def _outbox(factory: sessionmaker[Session]) -> list[SmsOutboxMessage]:
    with session_scope(factory) as s:
        return list(s.scalars(select(SmsOutboxMessage)))


def _deliveries(factory: sessionmaker[Session]) -> list[ReminderDelivery]:
    with session_scope(factory) as s:
        return list(s.scalars(select(ReminderDelivery).order_by(ReminderDelivery.recipient)))


def test_two_dispatchers_racing_send_each_reminder_once_in_the_patients_language(
    session_factory: sessionmaker[Session], world: World, sink: MailSink, tmp_path: Path
) -> None:
    factory = session_factory
    _prefer(factory, world.ids["patient_carlos"], channel="sms", language="es",
            phone="612 34 56 78", lead_hours=24)  # fmt: skip
    _prefer(factory, world.ids["patient_lucia"], channel="email", language="en",
            email="lucia@example.org", lead_hours=48)  # fmt: skip
    _prefer(factory, world.ids["patient_jordi"], channel="none", language="es")
    _book(factory, world, "carlos", SUNDAY_10_CEST)
    _book(factory, world, "lucia", SUNDAY_10_CEST + timedelta(hours=1))
    _book(factory, world, "jordi", SUNDAY_10_CEST + timedelta(hours=2))  # wants no reminders
    _prefer(factory, world.ids["patient_amani"], channel="sms", language="sw",
            phone="+254 712 123 456")  # fmt: skip
    cancelled = _book(factory, world, "amani", SUNDAY_10_CEST + timedelta(hours=3))
    with session_scope(factory) as s:
        s.get_one(BookedSession, cancelled).status = BookingStatus.cancelled
    settings = _settings(sink, tmp_path)

    # Saturday 09:30 CET (08:30 UTC) is 23.5 real hours before Carlos's 10:00 CEST: a day
    # before on the clinic's clock is 10:00 CET, 09:00 UTC, so only Lucia's is due.
    early = Dispatcher(factory, settings, OutboxSms(factory)).run_once(
        datetime(2027, 3, 27, 8, 30, tzinfo=UTC)
    )
    assert (early.sent, early.failed) == (1, 0)
    assert _outbox(factory) == []

    now = datetime(2027, 3, 27, 9, 0, tzinfo=UTC)
    with session_scope(factory) as s:
        seen_before_the_race = due_reminders(s, settings, now)
    assert [item.recipient for item in seen_before_the_race] == ["+34612345678"]
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        dispatcher = Dispatcher(factory, settings, OutboxSms(factory))
        barrier.wait()
        results.append(dispatcher.run_once(now))

    racers = [threading.Thread(target=run) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(r.sent for r in results) == [0, 1]

    [text] = _outbox(factory)
    assert text.to_e164 == "+34612345678"
    assert text.patient_id == world.ids["patient_carlos"]
    assert text.body == (
        "Recordatorio de exoshare: su cita de terapia en Madrid Clinic es el domingo, "
        "28 de marzo de 2027 a las 10:00."
    )
    [mail] = read_messages(tmp_path / "mail")
    assert mail.to == "lucia@example.org"
    assert mail.subject == "Reminder: your therapy appointment"
    assert mail.body.strip() == (
        "exoshare reminder: your therapy appointment at Madrid Clinic is on Sunday, "
        "March 28, 2027 at 11:00\u202fAM."
    )
    assert [(d.recipient, d.status, d.attempts) for d in _deliveries(factory)] == [
        ("+34612345678", DeliveryStatus.sent, 1),
        ("lucia@example.org", DeliveryStatus.sent, 1),
    ]
    # A dispatcher that saw it due before the others claimed it loses on the unique key.
    late = Dispatcher(factory, settings, OutboxSms(factory))
    assert late.claim(seen_before_the_race[0], now) is None
    # A restart runs again: nothing more is sent.
    again = Dispatcher(factory, settings, OutboxSms(factory)).run_once(now + timedelta(hours=1))
    assert again.claimed == 0
    assert len(_outbox(factory)) == 1


def test_a_failing_provider_is_retried_then_marked_failed_with_its_error(
    session_factory: sessionmaker[Session], world: World, sink: MailSink, tmp_path: Path
) -> None:
    factory = session_factory
    _prefer(factory, world.ids["patient_carlos"], channel="sms", language="es",
            phone="+34 612 34 56 78")  # fmt: skip
    _book(factory, world, "carlos", SUNDAY_10_CEST)
    settings = _settings(sink, tmp_path)
    now = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    busy = (503, {"code": 20503, "message": "Service unavailable"})
    with FakeTwilio([busy]) as server:
        sms = TwilioSms(server.url, ACCOUNT_SID, AUTH_TOKEN, "+15005550006", attempts=1)
        first = Dispatcher(factory, settings, sms).run_once(now)
        [row] = _deliveries(factory)
        assert (first.retrying, row.status, row.attempts) == (1, DeliveryStatus.retry, 1)
        assert row.next_attempt_at == now + timedelta(minutes=5)
        # Not yet time for the second attempt.
        assert Dispatcher(factory, settings, sms).run_once(now + timedelta(minutes=4)).claimed == 0
        second = Dispatcher(factory, settings, sms).run_once(now + timedelta(minutes=5))
    [row] = _deliveries(factory)
    assert (second.failed, row.status, row.attempts) == (1, DeliveryStatus.failed, 2)
    assert row.last_error == (
        "the SMS provider refused the message: Service unavailable (code 20503) (after 1 attempts)"
    )
    assert len(server.received) == 2


def test_the_home_programme_reminder_comes_in_the_clinic_morning_unless_logged(
    session_factory: sessionmaker[Session], world: World, sink: MailSink, tmp_path: Path
) -> None:
    factory = session_factory
    today = datetime.now(UTC).date()
    _prefer(factory, world.ids["patient_carlos"], channel="sms", language="es",
            phone="+34612345678")  # fmt: skip
    _prefer(factory, world.ids["patient_lucia"], channel="sms", language="es",
            phone="+34612345679")  # fmt: skip
    with session_scope(factory) as s:
        exercise = exercises.create_exercise(
            s, SYSTEM_SEEDING, "sit-to-stand", ExerciseCategory.strength, "en",
            [ExerciseTextIn(language="en", title="Sit to stand", instructions="Stand up.")],
        )  # fmt: skip
        items = [ProgrammeItemIn(exercise_id=exercise.id, sets=2, reps=10, days_per_week=5)]
        first, last = today - timedelta(days=3), today + timedelta(days=10)
        running = {
            name: programmes.assign_programme(
                s, SYSTEM_SEEDING, world.ids[f"patient_{name}"], first, last, items
            )
            for name in ("carlos", "lucia")
        }
        ids = {name: (p.id, p.items[0].id) for name, p in running.items()}
    _log(factory, *ids["lucia"], today)  # Lucia has done hers today
    settings = _settings(sink, tmp_path)
    midnight = datetime.combine(today, datetime.min.time(), UTC)
    # 06:00 UTC is 07:00 or 08:00 in Madrid: before the 09:00 reminder.
    early = Dispatcher(factory, settings, OutboxSms(factory)).run_once(
        midnight + timedelta(hours=6)
    )
    assert early.claimed == 0
    noon = midnight + timedelta(hours=12)
    assert Dispatcher(factory, settings, OutboxSms(factory)).run_once(noon).sent == 1
    [text] = _outbox(factory)
    assert (text.to_e164, text.body) == (
        "+34612345678",
        "Recordatorio de exoshare: sus ejercicios en casa de hoy le esperan en "
        "https://exoshare.example.org/my/exercises",
    )
    # Once a day: the afternoon run sends nothing more.
    later = Dispatcher(factory, settings, OutboxSms(factory)).run_once(noon + timedelta(hours=3))
    assert later.claimed == 0


def _log(factory: sessionmaker[Session], programme_id: str, item_id: str, day: date) -> None:
    with session_scope(factory) as s:
        programmes.log_adherence(
            s, SYSTEM_SEEDING, programme_id, item_id, day, AdherenceStatus.done, 0,
            Difficulty.right,
        )  # fmt: skip
