"""FHIR R4 resources of exoshare's records, built and validated with ``fhir.resources``.

``fhir.resources`` 8 packages R5 at its top level and R4B under ``fhir.resources.R4B``; plain R4
(4.0.1) is not packaged. R4B (4.3) left the resources used here (Patient, Practitioner,
Organization, Device, Observation, Condition, Encounter, Consent, Bundle) as they were in R4, so
what R4B validates is valid R4; the differences that matter are listed in docs/sharing.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.resource import Resource

from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.patients.schemas import Diagnosis

if TYPE_CHECKING:
    from exoshare.consents.models import Consent
    from exoshare.network.models import OrgUnit
    from exoshare.patients.models import Patient
    from exoshare.telemetry.models import TelemetrySession
    from exoshare.telerehab.models import TherapySession

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
EXOSHARE = "https://exoshare.org/fhir"
MRN_SYSTEM = f"{EXOSHARE}/sid/medical-record-number"
CLINIC_CODE_SYSTEM = f"{EXOSHARE}/sid/org-unit-code"
GAIT_SYSTEM = f"{EXOSHARE}/CodeSystem/gait-parameter"
PURPOSE_SYSTEM = f"{EXOSHARE}/CodeSystem/consent-purpose"
TEXT_VERSION_SYSTEM = f"{EXOSHARE}/sid/consent-text-version"

BODY_HEIGHT = ("8302-2", "Body height", "m")
BODY_WEIGHT = ("29463-7", "Body weight", "kg")

# Device-derived gait parameters of one session. LOINC has no point-in-time code we could
# verify for a session's mean gait speed, cadence, distance or step-time symmetry, so they carry
# exoshare's own code system; the units are UCUM all the same.
GAIT_PARAMETERS: tuple[tuple[str, str, str, str], ...] = (
    ("gait-speed", "Gait speed, session mean", "m/s", "m/s"),
    ("cadence", "Cadence, session mean", "/min", "steps/min"),
    ("distance", "Distance walked in the session", "m", "m"),
    ("step-time-symmetry", "Step-time symmetry index", "%", "%"),
)

# SNOMED CT concepts of the conditions exoshare records.
DIAGNOSIS_SNOMED: dict[Diagnosis, tuple[str, str]] = {
    Diagnosis.stroke: ("230690007", "Cerebrovascular accident"),
    Diagnosis.spinal_cord_injury: ("90584004", "Injury of spinal cord"),
    Diagnosis.cerebral_palsy: ("128188000", "Cerebral palsy"),
    Diagnosis.multiple_sclerosis: ("24700007", "Multiple sclerosis"),
    Diagnosis.other: ("74964007", "Other"),
}

PURPOSE_TEXT = {
    ConsentPurpose.care: "Care at the treating clinic",
    ConsentPurpose.remote_care: "Remote care by a named partner clinic",
    ConsentPurpose.research: "Research on de-identified data",
    ConsentPurpose.ai_training: "Federated AI training; data stays in the clinic",
    ConsentPurpose.partner_sharing: "Sharing with a named partner organisation",
}


def _validated(cls: type[Resource], data: dict[str, Any]) -> dict[str, Any]:
    """The resource as FHIR JSON after ``fhir.resources`` parsed it (raises on invalid data)."""
    resource = cls.model_validate(data)
    out: dict[str, Any] = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def organization(clinic: OrgUnit) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Organization",
        "id": clinic.id,
        "identifier": [{"system": CLINIC_CODE_SYSTEM, "value": clinic.code}],
        "active": clinic.closed_on is None,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": clinic.name,
    }
    if clinic.city or clinic.country_code:
        data["address"] = [
            {k: v for k, v in (("city", clinic.city), ("country", clinic.country_code)) if v}
        ]
    return _validated(Organization, data)


def practitioner(user_id: str, display_name: str) -> dict[str, Any]:
    given, _, family = display_name.rpartition(" ")
    name: dict[str, Any] = {"text": display_name, "family": family}
    if given:
        name["given"] = given.split()
    return _validated(Practitioner, {"resourceType": "Practitioner", "id": user_id, "name": [name]})


def patient(record: Patient) -> dict[str, Any]:
    return _validated(
        FhirPatient,
        {
            "resourceType": "Patient",
            "id": record.id,
            "identifier": [
                {
                    "use": "usual",
                    "type": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                "code": "MR",
                            }
                        ]
                    },
                    "system": f"{MRN_SYSTEM}/{record.clinic.code}",
                    "value": record.medical_record_number,
                }
            ],
            "active": not record.voided,
            "name": [
                {"use": "official", "family": record.family_name, "given": [record.given_name]}
            ],
            "gender": record.sex.value,
            "birthDate": record.birth_date.isoformat(),
            "communication": [
                {
                    "language": {
                        "coding": [
                            {
                                "system": "urn:ietf:bcp:47",
                                "code": record.preferred_language.replace("_", "-"),
                            }
                        ]
                    },
                    "preferred": True,
                }
            ],
            "managingOrganization": {"reference": f"Organization/{record.clinic_id}"},
        },
    )


def condition(record: Patient) -> dict[str, Any]:
    code, display = DIAGNOSIS_SNOMED[record.diagnosis]
    data: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"{record.id}-diagnosis",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": SNOMED, "code": code, "display": display}],
            "text": record.diagnosis.value,
        },
        "subject": {"reference": f"Patient/{record.id}"},
    }
    if record.onset_date:
        data["onsetDateTime"] = record.onset_date.isoformat()
    return _validated(Condition, data)


def _quantity_observation(
    observation_id: str,
    patient_id: str,
    coding: dict[str, str],
    category: str,
    value: float,
    unit_code: str,
    unit_text: str,
    effective: datetime | date,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"coding": [coding], "text": coding["display"]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": _instant(effective)
        if isinstance(effective, datetime)
        else effective.isoformat(),
        "valueQuantity": {"value": value, "unit": unit_text, "system": UCUM, "code": unit_code},
        **(extra or {}),
    }
    return _validated(Observation, data)


def body_measures(record: Patient) -> list[dict[str, Any]]:
    """Height and weight as vital-sign Observations (LOINC, UCUM)."""
    when = record.created_at
    return [
        _quantity_observation(
            f"{record.id}-{suffix}",
            record.id,
            {"system": LOINC, "code": code, "display": display},
            "vital-signs",
            value,
            unit,
            unit,
            when,
        )
        for suffix, (code, display, unit), value in (
            ("height", BODY_HEIGHT, record.height_m),
            ("weight", BODY_WEIGHT, record.weight_kg),
        )
    ]


def gait_observations(recording: TelemetrySession) -> list[dict[str, Any]]:
    """A session's gait parameters (device-derived, UCUM units), one Observation each."""
    summary = recording.summary or {}
    values = {
        "gait-speed": summary.get("speed_mps"),
        "cadence": recording.cadence_steps_per_min,
        "distance": recording.distance_m,
        "step-time-symmetry": recording.step_time_symmetry_index_pct,
    }
    out = []
    for code, display, unit, unit_text in GAIT_PARAMETERS:
        value = values[code]
        if not isinstance(value, int | float) or value != value:
            continue
        out.append(
            _quantity_observation(
                f"{recording.id}-{code}",
                recording.patient_id,
                {"system": GAIT_SYSTEM, "code": code, "display": display},
                "activity",
                round(float(value), 4),
                unit,
                unit_text,
                recording.started_at,
                {"device": {"reference": f"Device/{recording.device_unit_id}"}}
                if getattr(recording, "device_unit_id", None)
                else None,
            )
        )
    return out


OUTCOME_SYSTEM = f"{EXOSHARE}/CodeSystem/outcome-measure"
UCUM_OF_UNIT = {"m/s": "m/s", "m": "m", "s": "s"}
"""Outcome-measure units in UCUM; scores (Berg points, FAC levels, ...) are ``{score}``."""


def outcome_observation(
    observation_id: str,
    patient_id: str,
    measure: str,
    label: str,
    unit: str,
    loinc: str | None,
    value: float,
    measured_on: date,
) -> dict[str, Any]:
    """An outcome measure (10-metre walk, Berg, FAC, ...): its LOINC code where one was
    verified (outcomes.instruments), exoshare's own code otherwise; UCUM units."""
    coding = (
        {"system": LOINC, "code": loinc, "display": label}
        if loinc
        else {"system": OUTCOME_SYSTEM, "code": measure, "display": label}
    )
    ucum = UCUM_OF_UNIT.get(unit, "{score}")
    return _quantity_observation(
        observation_id,
        patient_id,
        coding,
        "survey" if ucum == "{score}" else "exam",
        value,
        ucum,
        unit or "score",
        measured_on,
    )


def device(
    unit_id: str, serial_number: str, model_name: str, maker: str, owner_id: str
) -> dict[str, Any]:
    return _validated(
        Device,
        {
            "resourceType": "Device",
            "id": unit_id,
            "status": "active",
            "serialNumber": serial_number,
            "manufacturer": maker,
            "deviceName": [{"name": model_name, "type": "model-name"}],
            "owner": {"reference": f"Organization/{owner_id}"},
        },
    )


ENCOUNTER_STATUS = {
    "planned": "planned",
    "started": "in-progress",
    "live": "in-progress",
    "paused": "onleave",
    "completed": "finished",
    "aborted": "cancelled",
    "cancelled": "cancelled",
}


def encounter(record: TherapySession) -> dict[str, Any]:
    """A therapy session: ambulatory at the clinic, home health at home."""
    home = record.location.value == "home"
    data: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": record.id,
        "status": ENCOUNTER_STATUS.get(record.status.value, "unknown"),
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "HH" if home else "AMB",
            "display": "home health" if home else "ambulatory",
        },
        "type": [{"text": "Robot-assisted gait therapy session"}],
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "participant": [{"individual": {"reference": f"Practitioner/{record.therapist_id}"}}],
        "serviceProvider": {"reference": f"Organization/{record.clinic_id}"},
    }
    start = record.started_at or record.planned_for
    if start:
        period = {"start": _instant(start)}
        if record.ended_at:
            period["end"] = _instant(record.ended_at)
        data["period"] = period
    return _validated(Encounter, data)


def consent(row: Consent) -> dict[str, Any]:
    """A consent decision as FHIR Consent: ``provision.type`` permit or deny, the purpose as a
    code, the partner as an actor; a withdrawn permit is ``inactive``."""
    provision: dict[str, Any] = {
        "type": row.decision.value,
        "period": {"start": _instant(row.decided_at)},
        "purpose": [
            {
                "system": PURPOSE_SYSTEM,
                "code": row.purpose.value,
                "display": PURPOSE_TEXT[row.purpose],
            }
        ],
    }
    if row.withdrawn_at:
        provision["period"]["end"] = _instant(row.withdrawn_at)
    actor = (
        f"Organization/{row.partner_clinic_id}"
        if row.partner_clinic_id
        else f"Organization/{row.partner_id}"
        if row.partner_id
        else None
    )
    if actor:
        provision["actor"] = [
            {
                "role": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                            "code": "IRCP",
                            "display": "information recipient",
                        }
                    ]
                },
                "reference": {"reference": actor},
            }
        ]
    status = "inactive" if row.withdrawn_at else "active"
    if row.decision is ConsentDecision.deny and not row.withdrawn_at:
        status = "active"
    data: dict[str, Any] = {
        "resourceType": "Consent",
        "id": row.id,
        "status": status,
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "research"
                    if row.purpose is ConsentPurpose.research
                    else "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}
        ],
        "patient": {"reference": f"Patient/{row.patient_id}"},
        "dateTime": _instant(row.decided_at),
        "policyRule": {
            "coding": [{"system": TEXT_VERSION_SYSTEM, "code": row.text_version}],
            "text": f"exoshare consent text {row.text_version} ({row.language})",
        },
        "provision": provision,
    }
    if row.recorded_by_id:
        data["performer"] = [{"reference": f"Practitioner/{row.recorded_by_id}"}]
    return _validated(FhirConsent, data)


def bundle(resources: list[dict[str, Any]], kind: str = "collection") -> dict[str, Any]:
    """A Bundle (``collection`` for a patient's record, ``searchset`` for a search)."""
    data: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": kind,
        "timestamp": _instant(datetime.now(UTC)),
        "entry": [
            {"resource": r}
            if kind == "collection"
            else {"resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }
    if kind == "searchset":
        data["total"] = len(resources)
    return _validated(Bundle, data)
