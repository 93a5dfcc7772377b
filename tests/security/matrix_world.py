"""The network the route matrix runs against: two clinics with one of every object, every caller.

Madrid is the callers' own clinic, Barcelona the foreign one. Each kind of id a route takes has
an own value (in the caller's scope), a foreign value (the same kind of object in Barcelona, or
of another maker for the manufacturer) and a missing value (a well-formed id nobody holds).
Objects are made through the API by the people who would make them, except alerts and the
academy's courses and certificates, which go through the services (certificates with the
trainer's own principal, courses with the seeding principal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from exoshare.academy import certificates, courses, media
from exoshare.academy.schemas import (
    CourseCreate,
    CourseText,
    LessonCreate,
    LessonText,
    ModuleCreate,
    OptionCreate,
    QuestionCreate,
)
from exoshare.auth import service as auth
from exoshare.auth.models import Credential, Invitation, RoleGrant, User
from exoshare.auth.schemas import CredentialKind, Role
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.auth.tokens import new_token
from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.db import new_id, session_scope
from exoshare.network import agreements
from exoshare.network.models import OrgUnit, Partner
from exoshare.network.schemas import AgreementKind
from exoshare.runtime import runtime_of
from exoshare.scheduling import bookings, capacity
from exoshare.scheduling.models import BookedSession, WaitlistEntry
from exoshare.scheduling.priority import Priority
from exoshare.sharing import consent, federated, research
from exoshare.sharing.schemas import (
    ApprovalDecision,
    Cohort,
    ConsentCreate,
    FederatedRunCreate,
    ResearchRequestCreate,
)
from exoshare.telerehab import alert_log
from exoshare.telerehab.alerts import Alert, AlertKind, Severity
from tests.world import PASSWORD, World, build_world, token

ROLE_CALLERS = (
    "consortium_operator",
    "clinic_admin",
    "therapist",
    "patient",
    "researcher",
    "manufacturer",
    "trainer",
)
TOKEN_CALLERS = ("anonymous", "expired_token", "revoked_token")

USER_OF_CALLER = {
    "consortium_operator": "operator",
    "clinic_admin": "admin_madrid",
    "therapist": "therapist_madrid",
    "patient": "carlos",
    "researcher": "researcher",
    "manufacturer": "manufacturer",
    "trainer": "trainer",
}


@dataclass
class MatrixWorld:
    world: World
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    own: dict[str, str] = field(default_factory=dict)
    foreign: dict[str, str] = field(default_factory=dict)
    own_by_caller: dict[tuple[str, str], str] = field(default_factory=dict)
    foreign_by_caller: dict[tuple[str, str], str] = field(default_factory=dict)
    device_headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def own_id(self, caller: str, kind: str) -> str:
        return self.own_by_caller.get((caller, kind), self.own[kind])

    def foreign_id(self, caller: str, kind: str) -> str:
        return self.foreign_by_caller.get((caller, kind), self.foreign[kind])


MISSING_ID = new_id()
"""A well-formed id that names nothing (ids are random 32-hex strings)."""


def _created(response: object) -> dict:
    status = response.status_code  # type: ignore[attr-defined]
    assert status in (200, 201), response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined,no-any-return]


def _recording_csv(n_samples: int = 600) -> bytes:
    from tests.telemetry.helpers import simulated_angles

    angles = simulated_angles(n_samples)
    left, right = angles["knee_angle_left_deg"], angles["knee_angle_right_deg"]
    rows = ["time,Knee L,Knee R"]
    rows += [f"{k / 100:.2f},{left[k]:.3f},{right[k]:.3f}" for k in range(n_samples)]
    return "\n".join(rows).encode()


def build_matrix_world(client: TestClient, factory: sessionmaker[Session]) -> MatrixWorld:
    world = build_world(factory)
    ids = world.ids
    with session_scope(factory) as s:
        for key in ("madrid", "barcelona", "nairobi"):
            clinic = s.get(OrgUnit, ids[key])
            assert clinic is not None
            clinic.currency = "KES" if key == "nairobi" else "EUR"
            clinic.timezone = "Africa/Nairobi" if key == "nairobi" else "Europe/Madrid"
        trainer = auth.create_user(s, "trainer@test.exoshare.org", "Trainer", PASSWORD)
        auth.add_grant(s, trainer, Role.trainer, s.get(OrgUnit, ids["root"]))  # type: ignore[arg-type]
        ids["trainer"], world.emails["trainer"] = trainer.id, trainer.email
        trainer_principal = auth.principal_for(s, trainer)
        today = date.today()
        for clinic, therapist, model in (
            ("madrid", "therapist_madrid", "model"),
            ("barcelona", "therapist_barcelona", "other_model"),
        ):
            certificate = certificates.issue(
                s, trainer_principal, ids[therapist], ids[model], today - timedelta(days=30),
                today + timedelta(days=335),
            )  # fmt: skip
            ids[f"certificate_{clinic}"] = certificate.id
        data_dir = runtime_of(client.app).settings.data_dir
        for clinic, model in (("madrid", "model"), ("barcelona", "other_model")):
            _academy_course(s, data_dir, ids, clinic, model)
    matrix = MatrixWorld(world)
    for caller, user_key in USER_OF_CALLER.items():
        matrix.headers[caller] = token(client, world, user_key)
    matrix.headers["anonymous"] = {}
    expired = token(client, world, "therapist_madrid")
    revoked = token(client, world, "therapist_madrid")
    assert client.delete("/api/v1/auth/token", headers=revoked).status_code == 204
    with session_scope(factory) as s:
        secret = expired["Authorization"].split(" ", 1)[1]
        credential = auth.credential_for_secret(s, secret, CredentialKind.api_token)
        assert credential is not None
        s.execute(
            update(Credential)
            .where(Credential.id == credential.id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    matrix.headers["expired_token"] = expired
    matrix.headers["revoked_token"] = revoked

    operator_h = matrix.headers["consortium_operator"]
    for model in ("model", "other_model"):
        _created(
            client.put(
                f"/api/v1/device-models/{ids[model]}/approvals",
                json={
                    "jurisdiction": "CE",
                    "status": "approved",
                    "status_date": "2024-01-15",
                    "indications": "gait rehabilitation after stroke",
                },
                headers=operator_h,
            )
        )
    this_month = today.replace(day=1)
    for clinic, unit in (("madrid", "unit_madrid"), ("barcelona", "unit_barcelona")):
        lease = _created(
            client.post(
                "/api/v1/leases",
                json={
                    "unit_id": ids[unit],
                    "clinic_id": ids[clinic],
                    "monthly_fee": 500,
                    "starts_on": str(this_month),
                    "ends_on": str(this_month.replace(year=this_month.year + 1)),
                },
                headers=operator_h,
            )
        )
        ids[f"lease_{clinic}"] = lease["id"]
        previous = (this_month - timedelta(days=1)).replace(day=1)
        invoice = _created(
            client.post(
                "/api/v1/invoices",
                json={"clinic_id": ids[clinic], "month": str(previous)},
                headers=operator_h,
            )
        )
        ids[f"invoice_{clinic}"] = invoice["id"]
        credential = _created(
            client.post(
                "/api/v1/telemetry/credentials",
                json={"device_unit_id": ids[unit]},
                headers=operator_h,
            )
        )
        ids[f"credential_{clinic}"] = credential["id"]
        matrix.device_headers[clinic] = {"Authorization": f"Device {credential['secret']}"}

    recordings = {"madrid": "patient_carlos", "barcelona": "patient_jordi"}
    for clinic, patient in recordings.items():
        recording = _created(
            client.post(
                "/api/v1/telemetry/recordings",
                headers=matrix.device_headers[clinic],
                data={
                    "patient_id": ids[patient],
                    "mapping": "Knee L=knee_angle_left_deg\nKnee R=knee_angle_right_deg",
                },
                files={"file": ("walk.csv", _recording_csv(), "text/csv")},
            )
        )
        ids[f"recording_{clinic}"] = recording["id"]

    # Carlos's session is Madrid's own: his therapist, his patient account and his clinic see it.
    therapist_b = token(client, world, "therapist_barcelona")
    plans = {
        "madrid": ("therapist", matrix.headers["therapist"], "patient_carlos", "unit_madrid"),
        "barcelona": ("therapist_b", therapist_b, "patient_jordi", "unit_barcelona"),
    }
    for clinic, (_, headers, patient, unit) in plans.items():
        planned = _created(
            client.post(
                "/api/v1/telerehab/sessions",
                json={"patient_id": ids[patient], "device_unit_id": ids[unit]},
                headers=headers,
            )
        )
        ids[f"therapy_{clinic}"] = planned["id"]
    with session_scope(factory) as s:
        for clinic in ("madrid", "barcelona"):
            alert = alert_log.record_alert(
                s,
                ids[f"therapy_{clinic}"],
                Alert(AlertKind.battery_low, Severity.warning, 12.0, 9.0, 10.0, "battery at 9 %"),
            )
            assert alert is not None
            ids[f"alert_{clinic}"] = alert.id

    _build_care_records(client, matrix, therapist_b)
    # A Timed Up and Go and a goal for it in each clinic (a measure the recovery prediction does
    # not use, so no route of the matrix fits the model).
    outcome_writers = {"madrid": ("patient_lucia", matrix.headers["therapist"]),
                       "barcelona": ("patient_jordi", therapist_b)}  # fmt: skip
    for clinic, (patient, headers) in outcome_writers.items():
        base = f"/api/v1/outcomes/patients/{ids[patient]}"
        measured = {"instrument": "tug", "items": {"time_s": 18.0}, "measured_on": str(today)}
        ids[f"measurement_{clinic}"] = _created(
            client.post(f"{base}/measurements", json=measured, headers=headers)
        )["id"]
        goal = {
            "measure": "tug_s",
            "target_value": 12,
            "target_date": str(today.replace(year=today.year + 1)),
        }
        ids[f"goal_{clinic}"] = _created(client.post(f"{base}/goals", json=goal, headers=headers))[
            "id"
        ]

    kinds = {
        "plan": "plan_madrid",
        "note": "note_madrid",
        "exercise": "exercise_madrid",
        "media": "media_madrid",
        "programme": "programme_madrid",
        "item": "item_madrid",
        "patient": "patient_lucia",
        "unit": "unit_madrid",
        "model": "model",
        "org_unit": "madrid",
        "clinic": "madrid",
        "lease": "lease_madrid",
        "invoice": "invoice_madrid",
        "user": "therapist_madrid",
        "credential": "credential_madrid",
        "recording": "recording_madrid",
        "therapy": "therapy_madrid",
        "alert": "alert_madrid",
        "measurement": "measurement_madrid",
        "goal": "goal_madrid",
        "course": "course_madrid",
        "module": "module_madrid",
        "lesson": "lesson_madrid",
        "lesson_media": "lesson_media_madrid",
        "certificate": "certificate_madrid",
    }
    for kind, key in kinds.items():
        matrix.own[kind] = ids[key]
        foreign_key = key.replace("madrid", "barcelona").replace("lucia", "jordi")
        matrix.foreign[kind] = ids["other_model" if kind == "model" else foreign_key]
    with session_scope(factory) as s:
        other_maker = s.scalar(select(Partner.id).where(Partner.name == "Baltic Motion"))
        assert other_maker is not None
        for key in ("therapist_madrid", "therapist_barcelona"):
            grant_id = s.scalar(select(RoleGrant.id).where(RoleGrant.user_id == ids[key]))
            assert grant_id is not None
            ids[f"grant_{key}"] = grant_id
        # Each caller's own login is the token it calls with; the foreign one is a colleague's.
        logins = {**{c: matrix.headers[c] for c in USER_OF_CALLER}, "barcelona": therapist_b}
        for caller, headers in logins.items():
            secret = headers["Authorization"].split(" ", 1)[1]
            credential = auth.credential_for_secret(s, secret, CredentialKind.api_token)
            assert credential is not None
            ids[f"login_{caller}"] = credential.id
        # A pending invitation in each clinic (Barcelona has no admin: the operator sent it).
        for clinic, admin in (("madrid", "admin_madrid"), ("barcelona", "operator")):
            _, digest = new_token()
            invitation = Invitation(
                email=f"invited.{clinic}@test.exoshare.org",
                role=Role.therapist,
                org_unit_id=ids[clinic],
                invited_by_id=ids[admin],
                token_sha256=digest,
                expires_at=datetime.now(UTC) + timedelta(days=3),
            )
            s.add(invitation)
            s.flush()
            ids[f"invitation_{clinic}"] = invitation.id
    matrix.own["invitation"] = ids["invitation_madrid"]
    matrix.foreign["invitation"] = ids["invitation_barcelona"]
    matrix.own["grant"] = ids["grant_therapist_madrid"]
    matrix.foreign["grant"] = ids["grant_therapist_barcelona"]
    matrix.own["login"], matrix.foreign["login"] = ids["login_therapist"], ids["login_barcelona"]
    for caller in USER_OF_CALLER:
        matrix.own_by_caller[(caller, "login")] = ids[f"login_{caller}"]
    matrix.own["maker"], matrix.foreign["maker"] = ids["maker"], other_maker
    matrix.own["partner"], matrix.foreign["partner"] = (
        ids["partner_madrid"],
        ids["partner_barcelona"],
    )
    # Madrid's agreement (with the maker) and one between Barcelona and Nairobi; both drafts.
    with session_scope(factory) as s:
        operator_user = s.get(User, ids["operator"])
        assert operator_user is not None
        operator = auth.principal_for(s, operator_user)
        for key, provider, recipient in (
            ("agreement_madrid", ids["partner_madrid"], ids["maker"]),
            ("agreement_barcelona", ids["partner_barcelona"], ids["partner_nairobi"]),
        ):
            ids[key] = agreements.create_agreement(
                s, operator, AgreementKind.training, "Course", provider, recipient, today
            ).id
    matrix.own["agreement"] = ids["agreement_madrid"]
    matrix.foreign["agreement"] = ids["agreement_barcelona"]
    # A new account's e-mail: free for the own case, another clinic's person's for the foreign.
    matrix.own["email"] = "new.person@test.exoshare.org"
    matrix.foreign["email"] = world.emails["therapist_barcelona"]
    # The patient's own record is Carlos's; a manufacturer's own model is its maker's.
    matrix.own_by_caller[("patient", "patient")] = ids["patient_carlos"]
    _add_sharing(matrix, factory)
    _add_bookings(matrix, factory)
    return matrix


def _add_bookings(matrix: MatrixWorld, factory: sessionmaker[Session]) -> None:
    """A booked session next year at each clinic (the calendar's rows a desk changes)."""
    ids = matrix.world.ids
    start = datetime.combine(date.today().replace(year=date.today().year + 1), time(9), UTC)
    with session_scope(factory) as s:
        for clinic, patient, unit, therapist in (
            ("madrid", "patient_carlos", "unit_madrid", "therapist_madrid"),
            ("barcelona", "patient_jordi", "unit_barcelona", "therapist_barcelona"),
        ):
            booked = BookedSession(
                patient_id=ids[patient],
                unit_id=ids[unit],
                therapist_id=ids[therapist],
                clinic_id=ids[clinic],
                starts_at=start,
                ends_at=start + timedelta(minutes=45),
            )
            bookings.insert_sessions(s, [booked])
            ids[f"booking_{clinic}"] = booked.id
    matrix.own["booking"], matrix.foreign["booking"] = (
        ids["booking_madrid"],
        ids["booking_barcelona"],
    )
    _add_capacity_runs(matrix, factory)
    _add_waitlist_entries(matrix, factory)
    return matrix


def _add_waitlist_entries(matrix: MatrixWorld, factory: sessionmaker[Session]) -> None:
    """A referral on each clinic's waitlist (Lucía's in Madrid, Jordi's in Barcelona): the
    entries whose session length and preferences a desk changes."""
    ids = matrix.world.ids
    with session_scope(factory) as s:
        for clinic, patient in (("madrid", "patient_lucia"), ("barcelona", "patient_jordi")):
            entry = WaitlistEntry(
                patient_id=ids[patient],
                clinic_id=ids[clinic],
                referral_date=date.today(),
                priority=Priority.routine,
                priority_reason="recent stroke",
                sessions_per_week=2,
                course_sessions=10,
                home_latitude=0.0,
                home_longitude=0.0,
            )
            s.add(entry)
            s.flush()
            ids[f"waitlist_entry_{clinic}"] = entry.id
    matrix.own["waitlist_entry"] = ids["waitlist_entry_madrid"]
    matrix.foreign["waitlist_entry"] = ids["waitlist_entry_barcelona"]


def _add_capacity_runs(matrix: MatrixWorld, factory: sessionmaker[Session]) -> None:
    """Two capacity advice runs: one still queued (so a new run answers 409 busy, and none runs
    its simulations inside the matrix) and one finished. Both are the operator's to read."""
    with session_scope(factory) as s:
        done = capacity.start_capacity_run(s, SYSTEM_SEEDING, date.today(), weeks=2, seeds=1)
        done.status = "done"
        s.flush()
        queued = capacity.start_capacity_run(s, SYSTEM_SEEDING, date.today(), weeks=2, seeds=1)
        matrix.own["capacity_run"], matrix.foreign["capacity_run"] = queued.id, done.id


PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63e0ce2b0000017100eab4d71a090000000049454e44ae426082"
)


def _build_care_records(
    client: TestClient, matrix: MatrixWorld, therapist_b: dict[str, str]
) -> None:
    """In each clinic: a plan, a draft note on its therapy session, an exercise of the clinic
    with a picture, and a home programme of that exercise (Carlos's in Madrid)."""
    ids = matrix.world.ids
    today = date.today()
    care = {
        "madrid": (matrix.headers["therapist"], "patient_carlos", "model", "unit_madrid"),
        "barcelona": (therapist_b, "patient_jordi", "other_model", "unit_barcelona"),
    }
    for clinic, (headers, patient, model, unit) in care.items():
        plan = _created(
            client.post(
                "/api/v1/careplan/plans",
                json={
                    "patient_id": ids[patient], "title": "Gait training",
                    "sessions_per_week": 3, "minutes_per_session": 45,
                    "device_model_id": ids[model], "device_unit_id": ids[unit],
                    "starts_on": str(today), "ends_on": str(today + timedelta(days=27)),
                },
                headers=headers,
            )
        )  # fmt: skip
        note = _created(
            client.post(
                "/api/v1/careplan/notes",
                json={"therapy_session_id": ids[f"therapy_{clinic}"]},
                headers=headers,
            )
        )
        exercise = _created(
            client.post(
                "/api/v1/careplan/exercises",
                json={
                    "code": f"{clinic}-corridor-walk", "category": "gait",
                    "default_language": "en",
                    "texts": [{"language": "en", "title": "Corridor walk",
                               "instructions": "Walk the corridor twice."}],
                },
                headers=headers,
            )
        )  # fmt: skip
        picture = _created(
            client.post(
                f"/api/v1/careplan/exercises/{exercise['id']}/media",
                content=PNG_1X1,
                headers={**headers, "Content-Type": "image/png"},
            )
        )
        programme = _created(
            client.post(
                "/api/v1/careplan/programmes",
                json={
                    "patient_id": ids[patient], "starts_on": str(today - timedelta(days=7)),
                    "ends_on": str(today + timedelta(days=27)),
                    "items": [{"exercise_id": exercise["id"], "sets": 2, "reps": 10,
                               "days_per_week": 3}],
                },
                headers=headers,
            )
        )  # fmt: skip
        ids.update(
            {
                f"plan_{clinic}": plan["id"],
                f"note_{clinic}": note["id"],
                f"exercise_{clinic}": exercise["id"],
                f"media_{clinic}": picture["id"],
                f"programme_{clinic}": programme["id"],
                f"item_{clinic}": programme["items"][0]["id"],
            }
        )


def _academy_course(
    s: Session, data_dir: Path, ids: dict[str, str], clinic: str, model: str
) -> None:
    """A published one-lesson course of the clinic's, with a picture and a one-question quiz."""
    course = courses.create_course(
        s,
        SYSTEM_SEEDING,
        CourseCreate(
            model_id=ids[model],
            org_unit_id=ids[clinic],
            topic="basics",
            fallback_language="en",
            texts={"en": CourseText(title=f"Basics ({clinic})")},
        ),
    )
    module = courses.add_module(s, SYSTEM_SEEDING, course.id, ModuleCreate(titles={"en": "One"}))
    lesson = courses.add_lesson(
        s,
        SYSTEM_SEEDING,
        course.id,
        LessonCreate(module_id=module.id, texts={"en": LessonText(title="Start", body="Go.")}),
    )
    courses.add_question(
        s,
        SYSTEM_SEEDING,
        course.id,
        QuestionCreate(
            prompts={"en": "Stop?"},
            options=[
                OptionCreate(texts={"en": "button"}, correct=True),
                OptionCreate(texts={"en": "shout"}),
            ],
        ),
    )
    picture = media.add_media(s, SYSTEM_SEEDING, data_dir, lesson.id, GIF, "dot.gif")
    courses.set_published(s, SYSTEM_SEEDING, course.id, True)
    ids.update(
        {
            f"course_{clinic}": course.id,
            f"module_{clinic}": module.id,
            f"lesson_{clinic}": lesson.id,
            f"lesson_media_{clinic}": picture.id,
        }
    )


GIF = bytes.fromhex(
    "4749463839610100010080000000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
"""A 1x1 transparent GIF."""


def _add_sharing(matrix: MatrixWorld, factory: sessionmaker[Session]) -> None:
    """Research consents, and a released data set on each side: Madrid's asked by the callers'
    researcher, Barcelona's and Nairobi's by another researcher."""
    ids = matrix.world.ids
    with session_scope(factory) as s:
        other = auth.create_user(s, "researcher.b@test.exoshare.org", "Researcher B", PASSWORD)
        auth.add_grant(s, other, Role.researcher, s.get(OrgUnit, ids["root"]))  # type: ignore[arg-type]
        body = ConsentCreate(purpose=ConsentPurpose.research, decision=ConsentDecision.permit)
        consents = {
            key: consent.record_consent(s, SYSTEM_SEEDING, ids[f"patient_{key}"], body).id
            for key in ("carlos", "lucia", "jordi", "amani")
        }
        researcher = s.get(User, ids["researcher"])
        assert researcher is not None
        for key, principal, clinics in (
            ("madrid", auth.principal_for(s, researcher), ["madrid"]),
            ("barcelona", auth.principal_for(s, other), ["barcelona", "nairobi"]),
        ):
            asked = research.create_request(
                s,
                principal,
                ResearchRequestCreate(
                    title=f"Data of {key}",
                    purpose="Route matrix data set",
                    cohort=Cohort(clinic_ids=[ids[c] for c in clinics]),
                    variables=["sex"],
                    k=2,
                    l_diversity=1,
                    suppression_limit=0.0,
                ),
            )
            for clinic in clinics:
                research.decide(
                    s, SYSTEM_SEEDING, asked.id, ids[clinic], ApprovalDecision.approved, ""
                )
            ids[f"request_{key}"] = asked.id
            ids[f"export_{key}"] = research.export(s, principal, asked.id).id
        # Federated runs are the network's: whoever may train reads every run.
        runs = [
            federated.start_run(s, SYSTEM_SEEDING, FederatedRunCreate(rounds=1)).id
            for _ in range(2)
        ]
    for kind, own, foreign in (
        ("federated_run", runs[0], runs[1]),
        ("consent", consents["lucia"], consents["jordi"]),
        ("research_request", ids["request_madrid"], ids["request_barcelona"]),
        ("export", ids["export_madrid"], ids["export_barcelona"]),
    ):
        matrix.own[kind], matrix.foreign[kind] = own, foreign
    matrix.own_by_caller[("patient", "consent")] = consents["carlos"]


def missing_value(kind: str) -> str:
    """A value of ``kind`` that names nothing."""
    return "nobody.at.all@test.exoshare.org" if kind == "email" else MISSING_ID
