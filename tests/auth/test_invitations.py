"""Invitations by e-mail, through a real SMTP server: single use, expiring, no wider than the
inviter, and the invitee's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth.models import AuditEvent, Invitation, RoleGrant, User
from exoshare.auth.tokens import token_hash
from exoshare.config import Settings
from exoshare.demo.mail_sink import MailSink
from tests.auth.conftest import inbox, link_token
from tests.world import PASSWORD, World, token

NEW = "nuria.vidal@test.exoshare.org"


def _invite(client: TestClient, headers: dict[str, str], org_unit_id: str, role: str = "therapist"):
    return client.post(
        "/api/v1/invitations",
        json={"email": NEW, "role": role, "org_unit_id": org_unit_id},
        headers=headers,
    )


def test_invitee_sets_a_password_and_gets_the_grant_once(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    response = _invite(client, admin, world.ids["madrid"])
    assert response.status_code == 201, response.text
    assert response.json()["email"] == NEW and response.json()["accepted_at"] is None
    [message] = inbox(mail_sink)
    assert message.to == NEW and "Madrid Clinic" in message.body
    secret = link_token(message, "/invitation")
    with session_factory() as s:
        stored = s.scalar(select(Invitation))
        assert stored is not None and stored.token_sha256 == token_hash(secret)
        assert secret not in {stored.token_sha256, stored.id}

    accepted = client.post(
        "/api/v1/invitations/accept",
        json={"token": secret, "password": "nuria-new-password", "display_name": "Núria Vidal"},
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["email"] == NEW
    signed_in = client.post(
        "/api/v1/auth/token", json={"email": NEW, "password": "nuria-new-password"}
    )
    assert signed_in.status_code == 201
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    ).json()
    assert me["grants"] == [{"role": "therapist", "org_unit_id": world.ids["madrid"]}]
    with session_factory() as s:
        user = s.scalar(select(User).where(User.email == NEW))
        grant = s.scalar(select(RoleGrant).where(RoleGrant.user_id == user.id))  # type: ignore[union-attr]
        assert grant is not None and grant.granted_by_id == world.ids["admin_madrid"]
        invitation = s.scalar(select(Invitation))
        assert invitation is not None and invitation.accepted_user_id == user.id  # type: ignore[union-attr]

    again = client.post(
        "/api/v1/invitations/accept",
        json={"token": secret, "password": "another-password", "display_name": "Someone"},
    )
    assert again.status_code == 404 and again.json()["field"] == "token"


def test_expired_invitation_is_refused(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    assert (
        _invite(client, token(client, world, "admin_madrid"), world.ids["madrid"]).status_code
        == 201
    )
    secret = link_token(inbox(mail_sink)[0], "/invitation")
    with session_factory() as s:
        s.execute(update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        s.commit()
    late = client.post(
        "/api/v1/invitations/accept",
        json={"token": secret, "password": "nuria-new-password", "display_name": "Núria"},
    )
    assert late.status_code == 404
    with session_factory() as s:
        assert s.scalar(select(User).where(User.email == NEW)) is None


def test_invitation_no_wider_than_the_inviter(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    foreign = _invite(client, admin, world.ids["barcelona"])
    missing = _invite(client, admin, "0" * 32)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"].replace(world.ids["barcelona"], "X") == missing.json()[
        "detail"
    ].replace("0" * 32, "X")
    wider = _invite(client, admin, world.ids["madrid"], role="researcher")
    assert wider.status_code == 403
    therapist = _invite(client, token(client, world, "therapist_madrid"), world.ids["madrid"])
    assert therapist.status_code == 403
    assert inbox(mail_sink) == []
    with session_factory() as s:
        assert s.scalars(select(Invitation)).all() == []


def test_an_existing_account_accepts_with_its_own_password(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    operator = token(client, world, "operator")
    response = client.post(
        "/api/v1/invitations",
        json={
            "email": world.emails["therapist_barcelona"],
            "role": "therapist",
            "org_unit_id": world.ids["nairobi"],
        },
        headers=operator,
    )
    assert response.status_code == 201
    secret = link_token(inbox(mail_sink)[0], "/invitation")
    page = client.get(f"/invitation?token={secret}")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    wrong = client.post(
        "/api/v1/invitations/accept", json={"token": secret, "password": "not-the-password"}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "password"
    right = client.post("/api/v1/invitations/accept", json={"token": secret, "password": PASSWORD})
    assert right.status_code == 201
    with session_factory() as s:
        units = set(
            s.scalars(
                select(RoleGrant.org_unit_id).where(
                    RoleGrant.user_id == world.ids["therapist_barcelona"]
                )
            )
        )
    assert units == {world.ids["barcelona"], world.ids["nairobi"]}


def test_invitation_page_creates_the_account(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    assert (
        _invite(client, token(client, world, "admin_madrid"), world.ids["madrid"]).status_code
        == 201
    )
    secret = link_token(inbox(mail_sink)[0], "/invitation")
    page = client.get(f"/invitation?token={secret}&lang=es")
    assert page.status_code == 200 and "Aceptar invitación" in page.text
    short = client.post(
        "/invitation", data={"token": secret, "password": "short", "display_name": "Núria"}
    )
    assert short.status_code == 422
    with session_factory() as s:
        assert s.scalar(select(User).where(User.email == NEW)) is None
    done = client.post(
        "/invitation",
        data={"token": secret, "password": "nuria-new-password", "display_name": "Núria"},
    )
    assert done.status_code == 200 and 'href="/login"' in done.text
    with session_factory() as s:
        assert s.scalar(select(User.display_name).where(User.email == NEW)) == "Núria"
    assert client.get(f"/invitation?token={secret}").status_code == 404


def test_unreachable_mail_server_keeps_nothing(
    client: TestClient, world: World, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    settings.smtp_url = "smtp://127.0.0.1:9?starttls=never"  # nothing listens on port 9
    response = _invite(client, token(client, world, "admin_madrid"), world.ids["madrid"])
    assert response.status_code == 503
    assert response.json()["type"].endswith("/mail-unavailable")
    with session_factory() as s:
        assert s.scalars(select(Invitation)).all() == []


def test_guessing_an_existing_accounts_password_through_an_invitation_is_throttled(
    client: TestClient, world: World, mail_sink: MailSink, settings: Settings
) -> None:
    operator = token(client, world, "operator")
    client.post(
        "/api/v1/invitations",
        json={
            "email": world.emails["admin_madrid"],
            "role": "therapist",
            "org_unit_id": world.ids["madrid"],
        },
        headers=operator,
    )
    secret = link_token(inbox(mail_sink)[0], "/invitation")
    guesses = [
        client.post("/api/v1/invitations/accept", json={"token": secret, "password": f"guess-{n}"})
        for n in range(settings.login_free_failures_per_account)
    ]
    assert [g.status_code for g in guesses] == [422] * settings.login_free_failures_per_account
    blocked = client.post(
        "/api/v1/invitations/accept", json={"token": secret, "password": PASSWORD}
    )
    assert blocked.status_code == 429 and blocked.headers["retry-after"]
    # The same throttle guards signing in to that account.
    signed_in = client.post(
        "/api/v1/auth/token", json={"email": world.emails["admin_madrid"], "password": PASSWORD}
    )
    assert signed_in.status_code == 429


def test_inviting_an_address_registered_elsewhere_invites_its_owner(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    taken = world.emails["therapist_barcelona"]
    request = {"email": taken, "role": "therapist", "org_unit_id": world.ids["madrid"]}
    answered = client.post("/api/v1/users", json=request, headers=admin)
    assert answered.status_code == 202, answered.text
    # The same answer as for a new address (tests/security/test_account_enumeration.py).
    body = answered.json()
    assert (body["email"], body["role"], body["org_unit_id"]) == (
        taken,
        "therapist",
        world.ids["madrid"],
    )
    [message] = inbox(mail_sink)
    assert message.to == taken and "Madrid Clinic" in message.body
    with session_factory() as s:
        invitation = s.scalars(select(Invitation)).one()
        assert invitation.id == body["id"]
        assert (invitation.email, invitation.role.value, invitation.org_unit_id) == (
            taken,
            "therapist",
            world.ids["madrid"],
        )
        assert invitation.invited_by_id == world.ids["admin_madrid"]
        assert invitation.accepted_at is None
        event = s.scalar(select(AuditEvent).where(AuditEvent.entity_id == invitation.id))
        assert event is not None and (event.action, event.user_id) == (
            "invite",
            world.ids["admin_madrid"],
        )

    # The owner accepts with their own password and keeps their Barcelona role too.
    accepted = client.post(
        "/api/v1/invitations/accept",
        json={"token": link_token(message, "/invitation"), "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    signed_in = client.post("/api/v1/auth/token", json={"email": taken, "password": PASSWORD})
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    ).json()
    assert sorted(g["org_unit_id"] for g in me["grants"]) == sorted(
        [world.ids["barcelona"], world.ids["madrid"]]
    )


def test_inviting_a_new_address_creates_the_account_only_on_acceptance(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    answered = client.post(
        "/api/v1/users",
        json={"email": NEW, "role": "therapist", "org_unit_id": world.ids["madrid"]},
        headers=admin,
    )
    assert answered.status_code == 202, answered.text
    [message] = inbox(mail_sink)
    assert message.to == NEW
    with session_factory() as s:
        assert s.scalar(select(User.id).where(User.email == NEW)) is None
        invitation = s.scalars(select(Invitation)).one()
        assert (invitation.id, invitation.email, invitation.accepted_at) == (
            answered.json()["id"],
            NEW,
            None,
        )
        event = s.scalar(select(AuditEvent).where(AuditEvent.entity_id == invitation.id))
        assert event is not None and (event.action, event.user_id) == (
            "invite",
            world.ids["admin_madrid"],
        )
    assert [item["id"] for item in _pending(client, admin)] == [answered.json()["id"]]

    accepted = client.post(
        "/api/v1/invitations/accept",
        json={
            "token": link_token(message, "/invitation"),
            "password": "nuria-new-password",
            "display_name": "Núria Vidal",
        },
    )
    assert accepted.status_code == 201, accepted.text
    assert _pending(client, admin) == []
    listed = client.get("/api/v1/users", headers=admin).json()["items"]
    assert NEW in [user["email"] for user in listed]


def _pending(client: TestClient, headers: dict[str, str]) -> list[dict]:
    listed = client.get("/api/v1/invitations", headers=headers)
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


def test_admins_list_the_pending_invitations_of_their_scope(
    client: TestClient, world: World, mail_sink: MailSink
) -> None:
    admin = token(client, world, "admin_madrid")
    operator = token(client, world, "operator")
    madrid = _invite(client, admin, world.ids["madrid"]).json()
    barcelona = _invite(client, operator, world.ids["barcelona"]).json()
    assert [i["id"] for i in _pending(client, admin)] == [madrid["id"]]
    assert {i["id"] for i in _pending(client, operator)} == {madrid["id"], barcelona["id"]}
    assert _pending(client, admin)[0]["email"] == NEW

    accepted = client.post(
        "/api/v1/invitations/accept",
        json={
            "token": link_token(inbox(mail_sink)[0], "/invitation"),
            "password": "nuria-new-password",
            "display_name": "Núria Vidal",
        },
    )
    assert accepted.status_code == 201
    assert _pending(client, admin) == []
    refused = client.get("/api/v1/invitations", headers=token(client, world, "therapist_madrid"))
    assert refused.status_code == 403


def test_withdrawing_an_invitation_kills_its_link_and_is_audited(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    invitation = _invite(client, admin, world.ids["madrid"]).json()
    secret = link_token(inbox(mail_sink)[0], "/invitation")
    withdrawn = client.delete(f"/api/v1/invitations/{invitation['id']}", headers=admin)
    assert withdrawn.status_code == 204, withdrawn.text
    assert _pending(client, admin) == []
    accept = client.post(
        "/api/v1/invitations/accept",
        json={"token": secret, "password": "nuria-new-password", "display_name": "Núria"},
    )
    assert accept.status_code == 404 and accept.json()["field"] == "token"
    with session_factory() as s:
        row = s.get(Invitation, invitation["id"])
        assert row is not None and row.withdrawn_at is not None and row.accepted_at is None
        assert s.scalar(select(User.id).where(User.email == NEW)) is None
        event = s.scalar(
            select(AuditEvent).where(
                AuditEvent.entity_id == invitation["id"], AuditEvent.action == "withdraw"
            )
        )
        assert event is not None and event.user_id == world.ids["admin_madrid"]
        assert event.detail == {"role": "therapist", "org_unit_id": world.ids["madrid"]}
    again = client.delete(f"/api/v1/invitations/{invitation['id']}", headers=admin)
    assert again.status_code == 404


def test_a_foreign_invitation_answers_exactly_like_a_missing_one(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    foreign = _invite(client, token(client, world, "operator"), world.ids["barcelona"]).json()
    missing = "0" * 32
    for method, suffix in (("DELETE", ""), ("POST", "/resend")):
        answers = [
            client.request(method, f"/api/v1/invitations/{i}{suffix}", headers=admin)
            for i in (foreign["id"], missing)
        ]
        assert [a.status_code for a in answers] == [404, 404]
        bodies = [a.json() for a in answers]
        for body in bodies:
            for key in ("detail", "instance"):
                body[key] = body[key].replace(foreign["id"], "ID").replace(missing, "ID")
        assert bodies[0] == bodies[1]
    with session_factory() as s:
        row = s.get(Invitation, foreign["id"])
        assert row is not None and row.withdrawn_at is None
    assert len(inbox(mail_sink)) == 1  # the operator's own invitation only


def test_resending_mails_a_new_link_and_the_old_one_stops_working(
    client: TestClient, world: World, mail_sink: MailSink, session_factory: sessionmaker[Session]
) -> None:
    admin = token(client, world, "admin_madrid")
    invitation = _invite(client, admin, world.ids["madrid"]).json()
    old_secret = link_token(inbox(mail_sink)[0], "/invitation")
    # Nearly expired: resending gives it the full time again.
    with session_factory() as s:
        s.execute(
            update(Invitation)
            .where(Invitation.id == invitation["id"])
            .values(expires_at=datetime.now(UTC) + timedelta(minutes=1))
        )
        s.commit()
    resent = client.post(f"/api/v1/invitations/{invitation['id']}/resend", headers=admin)
    assert resent.status_code == 200, resent.text
    assert datetime.fromisoformat(resent.json()["expires_at"]) > datetime.now(UTC) + timedelta(
        hours=1
    )
    _, second = inbox(mail_sink)
    assert second.to == NEW and "Madrid Clinic" in second.body
    new_secret = link_token(second, "/invitation")
    assert new_secret != old_secret
    stale = client.post(
        "/api/v1/invitations/accept",
        json={"token": old_secret, "password": "nuria-new-password", "display_name": "Núria"},
    )
    assert stale.status_code == 404
    fresh = client.post(
        "/api/v1/invitations/accept",
        json={"token": new_secret, "password": "nuria-new-password", "display_name": "Núria"},
    )
    assert fresh.status_code == 201, fresh.text
    with session_factory() as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == invitation["id"])
        ).all()
        assert sorted(actions) == ["invite", "resend"]
    after = client.post(f"/api/v1/invitations/{invitation['id']}/resend", headers=admin)
    assert after.status_code == 404  # accepted: nothing left to resend
