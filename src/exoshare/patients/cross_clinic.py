"""Which patient records a caller may read: staff of the patient's clinic scope, and across a
clinic's boundary only with the patient's remote-care consent for the reader's own clinic."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from exoshare.auth.scope import Permission, Principal
from exoshare.consents import rules as consent_rules
from exoshare.consents.rules import Column
from exoshare.network import service as network_service

__all__ = ["Column", "readable"]


def readable(principal: Principal, patient_id: Column, clinic_id: Column) -> ColumnElement[bool]:
    """SQL condition: staff of the patient's clinic scope (``patients:read``) who also meet the
    cross-clinic consent rule."""
    in_scope = network_service.in_scope(principal, Permission.patients_read, clinic_id)
    return and_(in_scope, consent_rules.remote_care_rule(principal, patient_id, clinic_id))
