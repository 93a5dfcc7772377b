"""The demo's shared fleet: approvals, opening hours, certifications, leases, maintenance,
waitlists (Bangalore: one exoskeleton, about fifty waiting), usage and November's invoices.

Deterministic like the rest of the demo: one ``random.Random`` per seed, dates relative to
:data:`exoshare.demo.network.REFERENCE_DATE`, everything written through the services.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from exoshare.academy import certificates
from exoshare.auth import service as auth_service
from exoshare.auth.scope import SYSTEM_SEEDING
from exoshare.devices import service as devices_service
from exoshare.devices.approvals.jurisdictions import jurisdictions_of
from exoshare.devices.approvals.schemas import ApprovalStatus, RecognitionKind
from exoshare.devices.approvals.service import create_agreement, record_approval
from exoshare.fleet import invoices, metering
from exoshare.fleet.leases import create_lease
from exoshare.fleet.maintenance import record_maintenance
from exoshare.fleet.schemas import MaintenanceKind, PlanKind
from exoshare.network import service as network_service
from exoshare.network.schemas import OrgUnitKind
from exoshare.patients import service as patients_service
from exoshare.patients.schemas import Diagnosis
from exoshare.scheduling import eligibility
from exoshare.scheduling.hours import set_opening_hours
from exoshare.scheduling.schemas import Priority
from exoshare.scheduling.waitlist import add_to_waitlist

if TYPE_CHECKING:
    from exoshare.devices.models import DeviceUnit

# Clinics whose waitlists the demo fills, with how many of their patients wait.
WAITING: dict[str, int] = {"IN-BLR-01": 50, "IN-DEL-01": 12, "ES-MAD-01": 6, "KE-NBO-01": 8}
URGENT_REASONS = (
    "stroke 6 weeks ago: the window of fastest recovery",
    "incomplete SCI, discharged from acute care this month",
)
HIGH_REASONS = (
    "falls at home twice since referral",
    "young carer of two children; return to work depends on walking",
)
ROUTINE_REASON = "chronic gait impairment; routine referral"


def seed_fleet_demo(
    session: Session,
    seed: int,
    reference: date,
    not_certified: Sequence[tuple[str, str]] = (),
) -> None:
    """Add the fleet, regulation, scheduling and billing story to a freshly generated network.

    ``not_certified``: (therapist e-mail, model name) pairs left without a certificate."""
    rng = random.Random(seed * 7919 + 4)
    who = SYSTEM_SEEDING
    clinics = {
        c.code: c for c in network_service.org_units_of_kind(session, who, OrgUnitKind.clinic)
    }
    units = devices_service.all_units(session, who)
    models = {m.id: m for m in devices_service.all_models(session)}
    clinic_of = {c.id: c for c in clinics.values()}

    # Approvals: every model is approved where the network uses it, years before the reference.
    approved: set[tuple[str, str]] = set()
    for unit in units:
        country = clinic_of[unit.org_unit_id].country_code or ""
        for jurisdiction in jurisdictions_of(country):
            approved.add((unit.model_id, jurisdiction.code))
    for model_id, code in sorted(approved):
        model = models[model_id]
        record_approval(
            session,
            SYSTEM_SEEDING,
            model_id,
            code,
            ApprovalStatus.approved,
            reference - timedelta(days=rng.randint(400, 2400)),
            f"{model.description or model.name} Adults and adolescents within "
            f"{model.min_patient_height_m:.2f}–{model.max_patient_height_m:.2f} m.",
            reference=f"{code}-{rng.randint(10000, 99999)}",
        )
    # Texture for the manufacturer's question "what shortens the route?".
    by_name = {m.name: m for m in models.values()}
    for name, code, status in (
        ("Corvane AX3 Home", "CDSCO", ApprovalStatus.pending),
        ("Corvane AX3 Home", "PMDA", ApprovalStatus.refused),
        ("Umoja Tembea", "FDA", ApprovalStatus.pending),
    ):
        if name in by_name and (by_name[name].id, code) not in approved:
            record_approval(
                session,
                SYSTEM_SEEDING,
                by_name[name].id,
                code,
                status,
                reference - timedelta(days=rng.randint(60, 300)),
                "Gait training after stroke or spinal cord injury.",
            )
    create_agreement(
        session,
        SYSTEM_SEEDING,
        "African Medical Devices reliance (SAHPRA reference)",
        RecognitionKind.approval,
        ["SAHPRA", "PPB", "NAFDAC"],
        "Kenya and Nigeria register devices already approved by SAHPRA on an abridged route.",
    )
    create_agreement(
        session,
        SYSTEM_SEEDING,
        "ASEAN Common Submission Dossier reliance",
        RecognitionKind.trial_data,
        ["HSA", "PHFDA"],
        "Clinical evidence accepted across member states; registration still required.",
    )
    create_agreement(
        session,
        SYSTEM_SEEDING,
        "Reference-regulator evidence route",
        RecognitionKind.trial_data,
        ["FDA", "CE", "TGA", "HC", "CDSCO", "ANVISA"],
        "Each accepts the others' clinical investigation data in an abridged review.",
    )

    # Opening hours in local time: weekdays for all; Saturday mornings where queues are long.
    for code, clinic in clinics.items():
        opens = time(9) if code.startswith(("IN-", "KE-", "NG-")) else time(8)
        hours = {d: (opens, time(17)) for d in range(5)}
        if code in WAITING:
            hours[5] = (time(9), time(13))
        set_opening_hours(session, SYSTEM_SEEDING, clinic.id, hours)

    # Therapists are certified for every model at their clinic, valid well past the demo's now,
    # except the (therapist, model) pairs in ``not_certified``.
    models_at: dict[str, set[str]] = {}
    for unit in units:
        models_at.setdefault(unit.org_unit_id, set()).add(unit.model_id)
    skipped = {
        (user.id, model.id)
        for email, model_name in not_certified
        if (user := auth_service.user_by_email(session, who, email)) is not None
        for model in models.values()
        if model.name == model_name
    }
    for user_id, org_unit_id in auth_service.therapist_grants(session, sorted(models_at)):
        for model_id in sorted(models_at[org_unit_id]):
            since = reference - timedelta(days=rng.randint(90, 700))
            until = reference + timedelta(days=rng.randint(200, 900))
            if (user_id, model_id) not in skipped:
                certificates.issue(session, SYSTEM_SEEDING, user_id, model_id, since, until)

    # Leases: a Delhi exoskeleton let to Bangalore (the article's $500 a month, in rupees) and a
    # Madrid unit to Barcelona.
    unit_at: dict[str, list[DeviceUnit]] = {}
    for unit in units:
        unit_at.setdefault(clinic_of[unit.org_unit_id].code, []).append(unit)
    leases = []
    if "IN-DEL-01" in unit_at and "IN-BLR-01" in clinics:
        leases.append(
            create_lease(
                session,
                SYSTEM_SEEDING,
                unit_at["IN-DEL-01"][0].id,
                clinics["IN-BLR-01"].id,
                Decimal("41500"),
                reference - timedelta(days=61),
                reference + timedelta(days=304),
                notes="Idle in Delhi; Bangalore has fifty waiting.",
            )
        )
    if "ES-MAD-01" in unit_at and "ES-BCN-01" in clinics:
        leases.append(
            create_lease(
                session,
                SYSTEM_SEEDING,
                unit_at["ES-MAD-01"][-1].id,
                clinics["ES-BCN-01"].id,
                Decimal("500.00"),
                reference - timedelta(days=92),
                reference + timedelta(days=88),
            )
        )
    for code, price in (("IN-BLR-01", "2900"), ("ES-MAD-01", "35.00"), ("ES-BCN-01", "35.00")):
        if code in clinics:
            invoices.create_plan(
                session,
                SYSTEM_SEEDING,
                clinics[code].id,
                PlanKind.per_patient_treated,
                Decimal(price),
                date(reference.year, 1, 1),
            )

    # Maintenance: one calibration done, one service in progress, one planned.
    zone_utc = UTC
    plan = [
        ("ES-MAD-01", 0, MaintenanceKind.calibration, -20, 1),
        ("DE-BER-01", 0, MaintenanceKind.preventive_maintenance, 3, 2),
        ("US-BOS-01", 1, MaintenanceKind.safety_inspection, 10, 1),
        ("JP-TYO-01", 0, MaintenanceKind.software_update, -5, 1),
    ]
    for code, index, kind, offset_days, length_days in plan:
        if code in unit_at and len(unit_at[code]) > index:
            start = datetime.combine(reference + timedelta(days=offset_days), time(8), zone_utc)
            record_maintenance(
                session,
                SYSTEM_SEEDING,
                unit_at[code][index].id,
                kind,
                start,
                start + timedelta(days=length_days),
                performed_by="Manufacturer field service",
            )

    # Waitlists, with homes scattered around the clinic (within ~25 km).
    for code, count in WAITING.items():
        home = clinics.get(code)
        if home is None or home.latitude is None or home.longitude is None:
            continue
        patients = patients_service.clinic_patients(
            session, who, home.id, order="record_number", limit=count
        )
        for patient in patients:
            roll = rng.random()
            if roll < 0.1:
                priority, reason = Priority.urgent, rng.choice(URGENT_REASONS)
            elif roll < 0.3:
                priority, reason = Priority.high, rng.choice(HIGH_REASONS)
            else:
                priority, reason = Priority.routine, ROUTINE_REASON
            distance_km = 25 * math.sqrt(rng.random())
            bearing = rng.uniform(0, 2 * math.pi)
            lat = home.latitude + distance_km / 111.0 * math.cos(bearing)
            lon = home.longitude + distance_km / (
                111.0 * max(0.2, math.cos(math.radians(home.latitude)))
            ) * math.sin(bearing)
            add_to_waitlist(
                session,
                SYSTEM_SEEDING,
                patient.id,
                reference - timedelta(days=rng.randint(3, 100)),
                priority,
                reason,
                3 if patient.diagnosis is Diagnosis.stroke else 2,
                rng.choice((12, 18, 24)),
                round(lat, 5),
                round(lon, 5),
            )

    # Usage in October: completed sessions at Bangalore and Madrid, metered idempotently.
    october = date(reference.year, reference.month, 1) - timedelta(days=31)
    for code in ("IN-BLR-01", "ES-MAD-01"):
        site = clinics.get(code)
        if site is None or code not in unit_at:
            continue
        zone = ZoneInfo(site.timezone or "UTC")
        metered = unit_at[code][0]
        # Only patients the unit's model fits were treated on it (the clinical-safety rule).
        treated = [
            p
            for p in patients_service.clinic_patients(
                session, who, site.id, include_voided=True, order="record_number_desc"
            )
            if not eligibility.patient_refusals(p, metered.model)
        ][:9]
        for patient in treated:
            for _ in range(rng.randint(2, 6)):
                day = october.replace(day=rng.randint(1, 28))
                start = datetime.combine(day, time(rng.randint(9, 15)), zone)
                if eligibility.unit_refusals(session, metered, site, start, timedelta(minutes=45)):
                    continue  # the unit was in maintenance (or away) that day
                metering.record_usage(
                    session,
                    unit_id=metered.id,
                    patient_id=patient.id,
                    session_start=start,
                    session_end=start + timedelta(minutes=45),
                    source="demo",
                )

    # November's invoices: Madrid's issued, Bangalore's still a draft for the admin to check.
    for code in ("ES-MAD-01", "IN-BLR-01", "ES-BCN-01"):
        if code in clinics:
            invoice = invoices.draft_invoice(session, SYSTEM_SEEDING, clinics[code].id, reference)
            if code == "ES-MAD-01":
                invoices.issue_invoice(session, SYSTEM_SEEDING, invoice.id)
    session.flush()
