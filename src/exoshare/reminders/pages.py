"""HTML routes of reminders: the patient's own preference page and the clinic admin's page for
one patient (both phone-sized)."""

from __future__ import annotations

from typing import Any

from babel import Locale
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.scope import Principal
from exoshare.deps import DbSession
from exoshare.errors import InvalidInput, InvalidPhoneNumber
from exoshare.patients import service as patients_service
from exoshare.reminders import preferences
from exoshare.reminders.schemas import PreferenceIn
from exoshare.web.i18n import shipped_catalogs
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext, request_locale

router = APIRouter(include_in_schema=False)

REFUSALS = {
    "phone": N_(
        "This is not a mobile phone number: write it with its country code, e.g. +34 612 34 56 78."
    ),
    "phone_missing": N_("Text-message reminders need a mobile phone number."),
    "email": N_("This is not an e-mail address (name@example.org)."),
    "email_missing": N_("E-mail reminders need an e-mail address."),
    "language": N_("Choose a language from the list."),
    "lead_hours": N_("Hours before an appointment: a whole number from 1 to 168."),
    "channel": N_("Choose how to be reminded."),
}
"""What the page says about a refused field, in the reader's language (the API's problem
document carries the English detail)."""


def _languages(reader: str, current: str) -> list[tuple[str, str]]:
    """Every language exoshare has words in (and the patient's own), named in the reader's."""
    codes = sorted({"en", *shipped_catalogs(), current})
    return [(code, Locale.parse(code).get_display_name(reader) or code) for code in codes]


def _page(
    request: Request,
    principal: Principal,
    action: str,
    form: dict[str, Any],
    *,
    own: bool,
    patient_name: str = "",
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "reminders/preference.html",
        principal,
        status_code=422 if error else 200,
        action=action,
        form=form,
        own=own,
        patient_name=patient_name,
        back=None if own else action.removesuffix("/reminders"),
        error=error,
        saved=request.query_params.get("saved") == "1",
        languages=_languages(request_locale(request, principal), form["language"]),
    )


def _stored(preference: preferences.Preference) -> dict[str, Any]:
    return {
        "channel": preference.channel.value,
        "language": preference.language,
        "lead_hours": preference.lead_hours,
        "phone": preference.phone_e164,
        "email": preference.email,
    }


async def _posted(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {
        name: value.strip()
        for name in ("channel", "language", "lead_hours", "phone", "email")
        if isinstance(value := form.get(name), str)
    }


def _save(
    request: Request,
    session: DbSession,
    principal: Principal,
    patient_id: str,
    posted: dict[str, Any],
) -> str | None:
    """Store the posted choice; what to say instead, in the reader's language, when refused."""
    try:
        choice = PreferenceIn.model_validate(
            {**posted, "phone": posted.get("phone") or None, "email": posted.get("email") or None}
        )
        preferences.set_preference(session, principal, patient_id, choice)
    except InvalidPhoneNumber:
        refused = "phone"
    except InvalidInput as exc:
        missing = exc.field in ("phone", "email") and not posted.get(exc.field or "")
        refused = f"{exc.field}_missing" if missing else str(exc.field)
    except ValidationError as exc:
        refused = str(exc.errors()[0]["loc"][0])
    else:
        return None
    return request_gettext(request, principal)(REFUSALS.get(refused, REFUSALS["channel"]))


@router.get("/my/reminders", response_class=HTMLResponse)
def my_reminders(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    patient_id = preferences.own_patient_id(session, principal)
    stored = _stored(preferences.get_preference(session, principal, patient_id))
    if stored["email"] is None:
        stored["email"] = principal.email or None
    return _page(request, principal, "/my/reminders", stored, own=True)


@router.post("/my/reminders", response_model=None)
async def save_my_reminders(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse | RedirectResponse:
    patient_id = preferences.own_patient_id(session, principal)
    posted = await _posted(request)
    error = _save(request, session, principal, patient_id, posted)
    if error:
        return _page(request, principal, "/my/reminders", _form(posted), own=True, error=error)
    return RedirectResponse("/my/reminders?saved=1", status_code=303)


def _form(posted: dict[str, Any]) -> dict[str, Any]:
    return {"channel": "none", "language": "en", "lead_hours": 24} | posted


def _patient_name(session: DbSession, principal: Principal, patient_id: str) -> str:
    patient = patients_service.get_patient(session, principal, patient_id)
    return f"{patient.given_name} {patient.family_name}"


@router.get("/patients/{patient_id}/reminders", response_class=HTMLResponse)
def patient_reminders(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    stored = _stored(preferences.get_preference(session, principal, patient_id))
    return _page(
        request, principal, f"/patients/{patient_id}/reminders", stored, own=False,
        patient_name=_patient_name(session, principal, patient_id),
    )  # fmt: skip


@router.post("/patients/{patient_id}/reminders", response_model=None)
async def save_patient_reminders(
    patient_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse | RedirectResponse:
    name = _patient_name(session, principal, patient_id)  # a foreign id: 404 before the form
    posted = await _posted(request)
    error = _save(request, session, principal, patient_id, posted)
    if error:
        return _page(
            request, principal, f"/patients/{patient_id}/reminders", _form(posted), own=False,
            patient_name=name, error=error,
        )  # fmt: skip
    return RedirectResponse(f"/patients/{patient_id}/reminders?saved=1", status_code=303)
