"""FHIR exchange of a patient's record: scoped, audited reads as R4 resources and Bundles,
searches by patient and date, and the import of a patient Bundle into a clinic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError
from sqlalchemy.orm import Session

from exoshare.auth import audit
from exoshare.auth.scope import Permission, Principal
from exoshare.consents.models import Consent
from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.errors import FhirResourceInvalid, NotFound
from exoshare.network import service as network_service
from exoshare.outcomes import measures as outcome_measures
from exoshare.outcomes.instruments import MEASURES
from exoshare.patients import service as patients_service
from exoshare.patients.schemas import Diagnosis, Sex
from exoshare.sharing import consent as consent_service
from exoshare.sharing import fhir
from exoshare.telemetry import reads as telemetry_reads
from exoshare.telerehab import sessions as telerehab_sessions

if TYPE_CHECKING:
    from exoshare.patients.models import Patient


def _within(moment: datetime | None, start: date | None, end: date | None) -> bool:
    if moment is None:
        return start is None and end is None
    day = moment.astimezone(UTC).date()
    return (start is None or day >= start) and (end is None or day <= end)


def patient_resource(session: Session, principal: Principal, patient_id: str) -> dict[str, Any]:
    record = patients_service.get_patient(session, principal, patient_id)  # scoped, audited
    return fhir.patient(record)


def _outcome_observations(
    session: Session, principal: Principal, patient_id: str
) -> list[tuple[date, dict[str, Any]]]:
    """The patient's outcome measures (scoped and audited by outcomes), with their day."""
    _, rows = outcome_measures.measurements_of(session, principal, patient_id)
    out = []
    for found in outcome_measures.observations(rows):
        spec = MEASURES[found.measure]
        out.append(
            (
                found.measured_on,
                fhir.outcome_observation(
                    f"{found.source_id}-{found.measure.value}".replace("_", "-"),
                    patient_id,
                    found.measure.value,
                    spec.label,
                    spec.unit,
                    spec.loinc,
                    found.value,
                    found.measured_on,
                ),
            )
        )
    return out


def observations(
    session: Session,
    principal: Principal,
    patient_id: str,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Body measures and every analysed session's gait parameters, within the dates."""
    record = patients_service.get_patient(session, principal, patient_id)
    out = [o for o in fhir.body_measures(record) if _within(record.created_at, start, end)]
    for recording in telemetry_reads.analysed_recordings(session, record.id):
        if _within(recording.started_at, start, end):
            out += fhir.gait_observations(recording)
    for day, observation in _outcome_observations(session, principal, record.id):
        if (start is None or day >= start) and (end is None or day <= end):
            out.append(observation)
    return out


def encounters(
    session: Session,
    principal: Principal,
    patient_id: str,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    rows = telerehab_sessions.sessions_of_patient(session, principal, patient_id)
    return [fhir.encounter(r) for r in rows if _within(r.started_at or r.planned_for, start, end)]


def consents(session: Session, principal: Principal, patient_id: str) -> list[dict[str, Any]]:
    return [fhir.consent(c) for c in consent_service.consents_of(session, principal, patient_id)]


def everything(session: Session, principal: Principal, patient_id: str) -> dict[str, Any]:
    """The patient's record as one Bundle: Patient, Condition, Organizations, Practitioners,
    Devices, Encounters, Observations and Consents."""
    record = patients_service.get_patient(session, principal, patient_id)
    sessions = telerehab_sessions.sessions_of_patient(session, principal, patient_id)
    rows = consent_service.consents_of(session, principal, patient_id)
    org_ids = {record.clinic_id} | {c.partner_clinic_id for c in rows if c.partner_clinic_id}
    resources = [fhir.patient(record), fhir.condition(record)]
    orgs = network_service.find_org_units(session, org_ids)
    resources += [fhir.organization(orgs[i]) for i in sorted(orgs)]
    therapists = {s.therapist.id: s.therapist for s in sessions}
    resources += [fhir.practitioner(u.id, u.display_name) for u in therapists.values()]
    units = {s.device_unit_id: s.device_unit for s in sessions}
    for unit in units.values():
        resources.append(
            fhir.device(
                unit.id,
                unit.serial_number,
                unit.model.name,
                unit.model.maker.name,
                unit.org_unit_id,
            )
        )
    resources += [fhir.encounter(s) for s in sessions]
    resources += fhir.body_measures(record)
    for recording in telemetry_reads.analysed_recordings(session, record.id):
        resources += fhir.gait_observations(recording)
    resources += [o for _, o in _outcome_observations(session, principal, record.id)]
    resources += [fhir.consent(c) for c in rows]
    audit.record(session, principal, "export", "fhir_bundle", record.id, patient_id=record.id)
    return fhir.bundle(resources)


# ---------------------------------------------------------------------------------- import


def _invalid(message: str) -> FhirResourceInvalid:
    return FhirResourceInvalid(message, field="body")


def _by_type(entries: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("resourceType") == kind]


def import_bundle(
    session: Session, principal: Principal, clinic_id: str, data: dict[str, Any]
) -> Patient:
    """Create the patient of a Bundle (Patient, Condition, body-measure Observations, Consents)
    in one of the caller's clinics; nothing is stored unless all of it is valid."""
    clinic = network_service.find_org_unit(session, clinic_id)
    if clinic is None or not principal.covers(Permission.patients_read, clinic.path):
        raise NotFound(f"clinic {clinic_id} not found")
    try:
        parsed = Bundle.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _invalid(f"not a valid FHIR R4 Bundle: {where}: {first['msg']}") from None
    resources = [
        e.resource.model_dump(mode="json", by_alias=True, exclude_none=True)
        for e in parsed.entry or []
        if e.resource is not None
    ]
    patients = _by_type(resources, "Patient")
    if len(patients) != 1:
        raise _invalid(f"the Bundle holds {len(patients)} Patient resources; import one at a time")
    p = patients[0]
    names = p.get("name") or [{}]
    family = names[0].get("family")
    given = " ".join(names[0].get("given") or [])
    if not family or not given or not p.get("birthDate"):
        raise _invalid("the Patient needs a family name, a given name and a birthDate")
    try:
        sex = Sex(p.get("gender", "unknown"))
    except ValueError:
        raise _invalid(
            f"Patient.gender {p.get('gender')!r} is not male, female, other or unknown"
        ) from None
    mrn = next(
        (
            i.get("value")
            for i in p.get("identifier", [])
            if i.get("system", "").startswith(fhir.MRN_SYSTEM)
        ),
        None,
    )
    if not mrn:
        raise _invalid(f"the Patient has no identifier of system {fhir.MRN_SYSTEM}/<clinic code>")
    measures = {}
    for obs in _by_type(resources, "Observation"):
        for coding in obs.get("code", {}).get("coding", []):
            if coding.get("system") == fhir.LOINC and coding.get("code") in (
                fhir.BODY_HEIGHT[0],
                fhir.BODY_WEIGHT[0],
            ):
                quantity = obs.get("valueQuantity", {})
                expected = (
                    fhir.BODY_HEIGHT[2]
                    if coding["code"] == fhir.BODY_HEIGHT[0]
                    else fhir.BODY_WEIGHT[2]
                )
                if quantity.get("code") != expected:
                    raise _invalid(
                        f"Observation {coding['code']} is in {quantity.get('code')!r}; "
                        f"give it in UCUM {expected!r}"
                    )
                measures[coding["code"]] = float(quantity["value"])
    if len(measures) != 2:
        raise _invalid("the Bundle needs a body height (8302-2, m) and body weight (29463-7, kg)")
    snomed = {code: diagnosis for diagnosis, (code, _) in fhir.DIAGNOSIS_SNOMED.items()}
    diagnosis, onset = Diagnosis.other, None
    for cond in _by_type(resources, "Condition"):
        for coding in cond.get("code", {}).get("coding", []):
            if coding.get("system") == fhir.SNOMED and coding.get("code") in snomed:
                diagnosis = snomed[coding["code"]]
                onset = cond.get("onsetDateTime")
    language = "en"
    for comm in p.get("communication", []):
        codes = comm.get("language", {}).get("coding", [])
        if codes:
            language = codes[0]["code"].replace("-", "_")
    record = patients_service.create_patient(
        session,
        principal,
        clinic_id,
        mrn,
        given,
        family,
        sex,
        date.fromisoformat(p["birthDate"]),
        measures[fhir.BODY_HEIGHT[0]],
        measures[fhir.BODY_WEIGHT[0]],
        diagnosis,
        onset_date=date.fromisoformat(onset[:10]) if onset else None,
        preferred_language=language,
    )
    org_codes = {
        o["id"]: next(
            (
                i["value"]
                for i in o.get("identifier", [])
                if i.get("system") == fhir.CLINIC_CODE_SYSTEM
            ),
            None,
        )
        for o in _by_type(resources, "Organization")
    }
    for c in _by_type(resources, "Consent"):
        session.add(_consent_row(session, record.id, c, org_codes))
    session.flush()
    audit.record(session, principal, "import", "fhir_bundle", record.id, patient_id=record.id)
    return record


def _consent_row(
    session: Session, patient_id: str, c: dict[str, Any], org_codes: dict[str, str | None]
) -> Consent:
    provision = c.get("provision", {})
    purposes = [
        p.get("code")
        for p in provision.get("purpose", [])
        if p.get("system") == fhir.PURPOSE_SYSTEM
    ]
    try:
        purpose = ConsentPurpose(purposes[0])
        decision = ConsentDecision(provision["type"])
    except (IndexError, KeyError, ValueError):
        raise _invalid(
            f"Consent {c.get('id')} needs provision.type permit or deny and a purpose of "
            f"{fhir.PURPOSE_SYSTEM}"
        ) from None
    partner_clinic_id = partner_id = None
    for actor in provision.get("actor", []):
        ref = actor.get("reference", {}).get("reference", "").removeprefix("Organization/")
        if purpose is ConsentPurpose.partner_sharing:
            if network_service.find_partner(session, ref) is None:
                raise _invalid(f"Consent {c.get('id')} names partner {ref}, unknown here")
            partner_id = ref
            continue
        code = org_codes.get(ref)
        found = network_service.find_org_unit_by_code(session, code) if code else None
        if found is None:
            raise _invalid(f"Consent {c.get('id')} names Organization/{ref}, not a clinic here")
        partner_clinic_id = found.id
    period = provision.get("period", {})
    withdrawn = period.get("end")
    version = (c.get("policyRule", {}).get("coding") or [{}])[0].get("code", "unknown")
    text = c.get("policyRule", {}).get("text", "")
    language = text.rsplit("(", 1)[-1].rstrip(")") if "(" in text else "en"
    return Consent(
        patient_id=patient_id,
        purpose=purpose,
        decision=decision,
        partner_clinic_id=partner_clinic_id,
        partner_id=partner_id,
        text_version=version,
        language=language,
        decided_at=datetime.fromisoformat(c["dateTime"]),
        withdrawn_at=datetime.fromisoformat(withdrawn) if withdrawn else None,
        withdrawal_reason="imported as withdrawn" if withdrawn else None,
    )
