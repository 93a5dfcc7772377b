"""Which consent decisions are in force, in SQL, and the rule every read of a patient record
across a clinic's boundary applies: the patient's remote-care consent must name the reader's
own clinic."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from exoshare.auth.scope import ROLE_PERMISSIONS, Grant, Permission, Principal
from exoshare.consents.models import Consent
from exoshare.consents.schemas import ConsentDecision, ConsentPurpose
from exoshare.network import service as network_service

Column = ColumnElement[str] | InstrumentedAttribute[str]


def in_force(
    patient_id: Column,
    purpose: ConsentPurpose,
    partner_clinic: Callable[[Column], ColumnElement[bool]] | None = None,
) -> ColumnElement[bool]:
    """SQL condition: the patient's newest decision on ``purpose`` (for a partner clinic that
    meets ``partner_clinic``, when given) is a permit not withdrawn."""
    row, newer = aliased(Consent), aliased(Consent)
    latest_permit = and_(
        row.patient_id == patient_id,
        row.purpose == purpose,
        row.decision == ConsentDecision.permit,
        row.withdrawn_at.is_(None),
        not_(
            exists().where(
                newer.patient_id == row.patient_id,
                newer.purpose == row.purpose,
                or_(
                    newer.partner_clinic_id == row.partner_clinic_id,
                    and_(newer.partner_clinic_id.is_(None), row.partner_clinic_id.is_(None)),
                ),
                or_(
                    newer.partner_id == row.partner_id,
                    and_(newer.partner_id.is_(None), row.partner_id.is_(None)),
                ),
                or_(
                    newer.decided_at > row.decided_at,
                    and_(newer.decided_at == row.decided_at, newer.id > row.id),
                ),
            )
        ),
    )
    if partner_clinic is not None:
        # A partner clinic is named on every remote-care row, so the column is a clinic id here.
        clinic_column = cast("InstrumentedAttribute[str]", row.partner_clinic_id)
        latest_permit = and_(latest_permit, partner_clinic(clinic_column))
    return exists().where(latest_permit)


def consented_patient_ids(
    session: Session, patient_ids: Iterable[str], purpose: ConsentPurpose
) -> set[str]:
    """Which of these patients have a permit in force for ``purpose`` (for exports and
    training rounds, which read the decision at the moment they run)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return set()
    rows = session.scalars(
        select(Consent.patient_id)
        .distinct()
        .where(Consent.patient_id.in_(ids), in_force(Consent.patient_id, purpose))
    ).all()
    return set(rows)


def home_grant(principal: Principal) -> Grant | None:
    """The caller's first grant that reads patient records: their own clinic (or region).
    Later clinic grants are cover for other clinics."""
    for grant in principal.grants:
        if Permission.patients_read in ROLE_PERMISSIONS[grant.role]:
            return grant
    return None


def remote_care_rule(
    principal: Principal, patient_id: Column, clinic_id: Column
) -> ColumnElement[bool]:
    """Cross-clinic rule: a record of a clinic outside the caller's own is read only when the
    patient's remote-care consent in force names a clinic of the caller's own subtree."""
    home = home_grant(principal)
    if principal.is_system or home is None:
        return true()
    home_id = home.org_unit_id

    def own(column: Column) -> ColumnElement[bool]:
        return network_service.in_subtree(home_id, column)

    return or_(own(clinic_id), in_force(patient_id, ConsentPurpose.remote_care, own))
