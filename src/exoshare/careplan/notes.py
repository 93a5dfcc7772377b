"""SOAP notes of therapy sessions: a draft the therapist edits, signed once (who, when), and
after that only amended: an amendment row (section, new text, reason, author, time), audited.
A signed note's text is never changed; its current reading is the newest amendment of each
section, or the signed text where there is none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import audit
from exoshare.auth.scope import Principal
from exoshare.careplan import access
from exoshare.careplan.models import SoapAmendment, SoapNote
from exoshare.careplan.objective import objective_from_summary
from exoshare.careplan.schemas import NoteSection, NoteStatus
from exoshare.errors import N_, Conflict, InvalidInput, NoteSigned, NotFound, PermissionDenied
from exoshare.telerehab import sessions as telerehab_sessions
from exoshare.telerehab.progress import progress_point
from exoshare.web.i18n import translations

SECTIONS = tuple(NoteSection)


def _query() -> Any:
    return select(SoapNote).options(
        selectinload(SoapNote.amendments),
        selectinload(SoapNote.clinic),
        selectinload(SoapNote.patient),
        selectinload(SoapNote.therapy_session),
    )


def get_note(
    session: Session, principal: Principal, note_id: str, *, write: bool = False
) -> SoapNote:
    """A note the caller reads as staff of the patient's clinic (NotFound otherwise; audited)."""
    note: SoapNote | None = session.scalar(_query().where(SoapNote.id == note_id))
    return access.opened(
        session, principal, note, kind="soap_note", record_id=note_id,
        write="write its notes" if write else None,
    )  # fmt: skip


def notes_of_patient(session: Session, principal: Principal, patient_id: str) -> list[SoapNote]:
    patient = access.patient_for_staff(session, principal, patient_id)
    rows = list(
        session.scalars(
            _query().where(SoapNote.patient_id == patient.id).order_by(SoapNote.created_at.desc())
        )
    )
    access.listed(session, principal, patient, "soap_note", rows)
    return rows


def note_of_session(session: Session, therapy_session_id: str) -> SoapNote | None:
    """The note of a therapy session, if one was started (the caller checked the session)."""
    found: SoapNote | None = session.scalar(
        _query().where(SoapNote.therapy_session_id == therapy_session_id)
    )
    return found


def start_note(
    session: Session,
    principal: Principal,
    therapy_session_id: str,
    on_behalf: access.OnBehalf | None = None,
) -> SoapNote:
    """The session's note: a new draft whose objective is the session's gait summary in words
    (in the author's language), or the note already started for it."""
    author, at = access.author_and_time(principal, on_behalf)
    try:
        record = telerehab_sessions.get_session(session, principal, therapy_session_id)
    except NotFound:
        raise InvalidInput(
            f"therapy session {therapy_session_id} does not exist", field="therapy_session_id"
        ) from None
    if not access.may_read(principal, record.clinic.path):
        # The patient follows their own session but does not write its clinical note.
        raise PermissionDenied.worded(N_("notes are written by the patient's care team"))
    access.require_write(principal, record.clinic.path, "write its notes")
    existing = note_of_session(session, record.id)
    if existing is not None:
        return existing
    point = progress_point(record.telemetry_session) if record.telemetry_session else None
    objective = objective_from_summary(point, translations(principal.locale).gettext)
    note = SoapNote(
        therapy_session_id=record.id,
        patient_id=record.patient_id,
        clinic_id=record.clinic_id,
        author_id=author,
        created_at=at,
        status=NoteStatus.draft,
        subjective="",
        objective=objective,
        assessment="",
        plan="",
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        principal,
        "create",
        "soap_note",
        note.id,
        patient_id=note.patient_id,
        detail={"therapy_session": record.id, "objective_prefilled": bool(objective)},
    )
    return get_note(session, principal, note.id, write=True)


def _refuse_if_signed(note: SoapNote) -> None:
    if note.status is NoteStatus.signed:
        assert note.signed_at is not None
        raise NoteSigned(
            f"this note was signed on {note.signed_at:%Y-%m-%d %H:%M} UTC and is never edited; "
            "add an amendment (the section, the corrected text and the reason) instead"
        )


def update_draft(
    session: Session, principal: Principal, note_id: str, changes: dict[str, str]
) -> SoapNote:
    """Change sections of a draft; a signed note answers 409 ``note-signed``."""
    note = get_note(session, principal, note_id, write=True)
    _refuse_if_signed(note)
    unknown = set(changes) - {s.value for s in SECTIONS}
    if unknown:
        raise InvalidInput(f"no section {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    for name, text in changes.items():
        setattr(note, name, text)
    audit.record(
        session,
        principal,
        "update",
        "soap_note",
        note.id,
        patient_id=note.patient_id,
        detail={"sections": sorted(changes)},
    )
    return note


def sign_note(
    session: Session,
    principal: Principal,
    note_id: str,
    on_behalf: access.OnBehalf | None = None,
) -> SoapNote:
    """The author signs the draft: timestamped, and from then on only amended."""
    signer, at = access.author_and_time(principal, on_behalf)
    note = get_note(session, principal, note_id, write=True)
    _refuse_if_signed(note)
    if note.author_id != signer:
        raise PermissionDenied.worded(
            N_("only the note's author signs it; amend it once it is signed")
        )
    if not any(getattr(note, s.value).strip() for s in SECTIONS):
        raise InvalidInput.worded(
            N_("an empty note cannot be signed; write at least the assessment")
        )
    note.status = NoteStatus.signed
    note.signed_at = at
    note.signed_by_id = signer
    audit.record(session, principal, "sign", "soap_note", note.id, patient_id=note.patient_id)
    return note


def amend_note(
    session: Session,
    principal: Principal,
    note_id: str,
    section: NoteSection,
    text: str,
    reason: str,
    on_behalf: access.OnBehalf | None = None,
) -> SoapNote:
    """Correct a section of a signed note: a new amendment row, audited with the text before."""
    author, at = access.author_and_time(principal, on_behalf)
    note = get_note(session, principal, note_id, write=True)
    if note.status is not NoteStatus.signed:
        raise Conflict.worded(
            N_("a draft is edited, not amended; amend the note once it is signed")
        )
    why, corrected = reason.strip(), text.strip()
    if not why:
        raise InvalidInput.worded(
            N_("say why the note is amended (kept with the amendment)"), also={"field": "reason"}
        )
    if not corrected:
        raise InvalidInput.worded(N_("the amended text is empty"), also={"field": "text"})
    before = current_text(note, section)
    amendment = SoapAmendment(
        note_id=note.id,
        section=section,
        text=corrected,
        reason=why,
        author_id=author,
        created_at=at,
    )
    session.add(amendment)
    session.flush()
    audit.record(
        session,
        principal,
        "amend",
        "soap_note",
        note.id,
        patient_id=note.patient_id,
        detail={
            "amendment": amendment.id,
            "section": section.value,
            "reason": why,
            "before": before,
            "after": corrected,
        },
    )
    session.expire(note, ["amendments"])
    return note


def current_text(note: SoapNote, section: NoteSection) -> str:
    """What a section reads now: its newest amendment, or the signed (or draft) text."""
    amended = [a for a in note.amendments if a.section is section]
    return amended[-1].text if amended else str(getattr(note, section.value))
