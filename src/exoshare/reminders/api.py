"""Reminder preferences over the API: a patient's own, or a patient's set by their clinic admin."""

from __future__ import annotations

from fastapi import APIRouter

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.reminders import preferences
from exoshare.reminders.schemas import PreferenceIn, PreferenceOut

router = APIRouter(prefix="/api/v1/reminders", tags=["reminders"])


@router.get("/patients/{patient_id}/preference", response_model=PreferenceOut)
def read_preference(
    patient_id: str, session: DbSession, principal: CurrentPrincipal
) -> PreferenceOut:
    """How the patient is reminded (channel ``none`` until someone chooses)."""
    return PreferenceOut.model_validate(
        preferences.get_preference(session, principal, patient_id), from_attributes=True
    )


@router.put("/patients/{patient_id}/preference", response_model=PreferenceOut)
def set_preference(
    patient_id: str, body: PreferenceIn, session: DbSession, principal: CurrentPrincipal
) -> PreferenceOut:
    """Choose channel, language, lead time and phone (any notation; stored in E.164)."""
    return PreferenceOut.model_validate(
        preferences.set_preference(session, principal, patient_id, body), from_attributes=True
    )
