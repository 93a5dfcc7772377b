"""Certificates: earned by passing the quiz and the practical, expiring, renewed, revoked, and
the one rule scheduling and telerehab ask (checked through their own entry points)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy import certificates, courses, learning
from exoshare.academy.schemas import CertificateBasis, CertificateStatus
from exoshare.auth import service as auth
from exoshare.auth.models import AuditEvent, User
from exoshare.auth.scope import SYSTEM_SEEDING, Principal
from exoshare.db import session_scope
from exoshare.devices import service as devices
from exoshare.errors import CertificateRevoked, InvalidInput, NotFound
from exoshare.scheduling import eligibility
from exoshare.telerehab import sessions as telerehab_sessions
from tests.academy.helpers import PASS_MARK_PCT, VALID_DAYS, academy_world, answers
from tests.world import World


def _as(s: Session, world: World, key: str) -> Principal:
    user = s.get(User, world.ids[key])
    assert user is not None
    return auth.principal_for(s, user)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    return academy_world(session_factory)


def test_quiz_scoring_counts_a_question_only_for_exactly_its_right_options() -> None:
    right = {"q1": {"a"}, "q2": {"b", "c"}, "q3": {"d"}, "q4": {"e"}}
    # q1 right; q2 half right (wrong); q3 every box ticked (wrong); q4 left out (wrong).
    score = learning.score_quiz(right, {"q1": ["a"], "q2": ["b"], "q3": ["d", "x", "y"]})
    assert (score.correct, score.questions, score.score_pct) == (1, 4, 25.0)
    assert (
        learning.score_quiz(right, {"q1": ["a"], "q2": ["c", "b"], "q3": ["d"]}).score_pct == 75.0
    )
    assert learning.score_quiz(right, {"q1": ["a"], "q2": ["c", "b"], "q3": ["d"]}).passes(75)
    assert not learning.score_quiz(right, {"q1": ["a"], "q2": ["b", "c"]}).passes(75)


def test_a_certificate_is_earned_by_passing_the_quiz_and_the_practical(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    today = datetime.now(UTC).date()
    with session_scope(session_factory) as s:
        maria = _as(s, world, "therapist_madrid")
        failed = learning.submit_quiz(s, maria, world.ids["course"], answers(world, 2))
        assert (failed.score.correct, failed.score.score_pct, failed.attempt.passed) == (
            2,
            50.0,
            False,
        )
        assert failed.certificate is None
        passed = learning.submit_quiz(s, maria, world.ids["course"], answers(world, 3))
        assert (passed.score.score_pct, passed.attempt.passed) == (75.0, True)
        assert PASS_MARK_PCT == 75
        # Passing alone is not enough: the practical is still to be signed off.
        assert passed.certificate is None
        assert not certificates.is_certified_on(
            s, world.ids["therapist_madrid"], world.ids["model"], today
        )
    with session_scope(session_factory) as s:
        trainer = _as(s, world, "trainer_spain")
        _, certificate = learning.sign_off(
            s, trainer, world.ids["course"], world.ids["therapist_madrid"], note="walked a patient"
        )
        assert certificate is not None
        assert certificate.basis is CertificateBasis.course
        assert certificate.issued_by_id == world.ids["trainer_spain"]
        assert (certificate.issued_on, certificate.expires_on) == (
            today,
            today + timedelta(days=VALID_DAYS),
        )
        assert len(certificate.verification_code) == 24
        day_after_expiry = today + timedelta(days=VALID_DAYS + 1)
        therapist, model = world.ids["therapist_madrid"], world.ids["model"]
        assert certificates.is_certified_on(s, therapist, model, today)
        assert certificates.is_certified_on(s, therapist, model, today + timedelta(days=VALID_DAYS))
        assert not certificates.is_certified_on(s, therapist, model, day_after_expiry)
        assert certificates.status_on(certificate, day_after_expiry) is CertificateStatus.expired
        progress = learning.progress(
            s, therapist, courses.get_course(s, SYSTEM_SEEDING, world.ids["course"])
        )
        assert (progress.best_score_pct, progress.quiz_passed, progress.practical_signed_off) == (
            75.0,
            True,
            True,
        )


def test_when_the_quiz_is_passed_after_the_sign_off_the_trainer_still_vouches(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as s:
        trainer = _as(s, world, "trainer_spain")
        _, none_yet = learning.sign_off(s, trainer, world.ids["course"], world.ids["admin_madrid"])
        assert none_yet is None  # the quiz is still to be passed
        admin = _as(s, world, "admin_madrid")
        result = learning.submit_quiz(s, admin, world.ids["course"], answers(world, 4))
        assert result.score.score_pct == 100.0 and result.certificate is not None
        assert result.certificate.issued_by_id == world.ids["trainer_spain"]
        assert result.certificate.therapist_id == world.ids["admin_madrid"]


def test_renewal_and_revocation_with_a_reason_are_audited_and_the_rule_follows(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    therapist, model_id = world.ids["therapist_madrid"], world.ids["model"]
    with session_scope(session_factory) as s:
        trainer = _as(s, world, "trainer_spain")
        certificate = certificates.issue(s, trainer, therapist, model_id, first, last)
        certificate_id = certificate.id
        assert certificate.basis is CertificateBasis.trainer
        # Expired on 2027-03-01 ...
        assert not certificates.is_certified_on(s, therapist, model_id, date(2027, 3, 1))
        with pytest.raises(InvalidInput, match="after the current expiry date, 2026-12-31"):
            certificates.renew(s, trainer, certificate_id, date(2026, 6, 30))
        renewed = certificates.renew(s, trainer, certificate_id, date(2027, 12, 31))
        # ... valid there once renewed, with the same verification code.
        assert renewed.expires_on == date(2027, 12, 31)
        assert certificates.is_certified_on(s, therapist, model_id, date(2027, 3, 1))
        assert certificates.certified_models(s, date(2027, 3, 1), date(2027, 3, 7)) == {
            therapist: {model_id}
        }
    with session_scope(session_factory) as s:
        trainer = _as(s, world, "trainer_spain")
        with pytest.raises(InvalidInput, match="say why"):
            certificates.revoke(s, trainer, certificate_id, "   ")
        certificates.revoke(s, trainer, certificate_id, "unsafe transfer seen on 2026-05-02")
    with session_scope(session_factory) as s:
        trainer = _as(s, world, "trainer_spain")
        day = date(2026, 6, 1)
        assert not certificates.is_certified_on(s, therapist, model_id, day)
        assert certificates.certified_models(s, day, day) == {}
        # Scheduling's clinical-safety rule and telerehab both ask the academy.
        model = devices.find_model(s, model_id)
        assert model is not None
        refusal = eligibility.certification_refusal(s, therapist, model, day)
        assert refusal is not None and refusal.code == "not-certified"
        assert not telerehab_sessions.is_certified(s, therapist, model_id, day)
        with pytest.raises(CertificateRevoked):
            certificates.renew(s, trainer, certificate_id, date(2028, 12, 31))
        events = s.execute(
            select(AuditEvent.action, AuditEvent.user_id, AuditEvent.detail)
            .where(AuditEvent.entity == "certificate", AuditEvent.entity_id == certificate_id)
            .order_by(AuditEvent.id)
        ).all()
        assert [(action, user) for action, user, _ in events] == [
            ("certificate.issue", world.ids["trainer_spain"]),
            ("certificate.renew", world.ids["trainer_spain"]),
            ("certificate.revoke", world.ids["trainer_spain"]),
        ]
        assert events[1][2] == {"from": "2026-12-31", "to": "2027-12-31"}
        assert events[2][2] == {"reason": "unsafe transfer seen on 2026-05-02"}
        # A new certificate after a revocation is a new row with a new code.
        again = certificates.issue(
            s, trainer, therapist, model_id, date(2026, 7, 1), date(2027, 6, 30)
        )
        assert again.id != certificate_id
        assert certificates.is_certified_on(s, therapist, model_id, date(2026, 7, 1))


def test_a_trainer_certifies_only_in_their_subtree_and_a_foreign_id_looks_missing(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    model_id = world.ids["model"]
    with session_scope(session_factory) as s:
        kenya = _as(s, world, "trainer_kenya")
        answers_seen = []
        for therapist in (world.ids["therapist_barcelona"], "0" * 32):
            with pytest.raises(InvalidInput) as refused:
                certificates.issue(
                    s, kenya, therapist, model_id, date(2026, 1, 1), date(2027, 1, 1)
                )
            answers_seen.append(refused.value.detail.replace(therapist, "<id>"))
        assert answers_seen == ["user <id> does not exist"] * 2
        spain = _as(s, world, "trainer_spain")
        barcelona = certificates.issue(
            s, spain, world.ids["therapist_barcelona"], model_id, date(2026, 1, 1), date(2027, 1, 1)
        )
        barcelona_id = barcelona.id
    with session_scope(session_factory) as s:
        # Kenya's trainer, Madrid's admin and Madrid's therapist cannot reach it: like a missing id.
        for key in ("trainer_kenya", "therapist_madrid"):
            who = _as(s, world, key)
            for certificate_id in (barcelona_id, "0" * 32):
                with pytest.raises(NotFound):
                    certificates.revoke(s, who, certificate_id, "because")
        admin = _as(s, world, "admin_madrid")
        with pytest.raises(NotFound):
            certificates.get_certificate(s, admin, barcelona_id)
        # The holder reads their own; they cannot revoke it.
        jordi = _as(s, world, "therapist_barcelona")
        assert certificates.get_certificate(s, jordi, barcelona_id).id == barcelona_id
        with pytest.raises(NotFound):
            certificates.revoke(s, jordi, barcelona_id, "mine")
