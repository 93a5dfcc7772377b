"""Which patient records a caller may read, with the consent rule for reads across a clinic's
boundary that the sharing capability installs.

Consents belong to sharing, which sits above patients (it reads patients, sessions and
summaries to build exports), so patients cannot ask it directly: sharing installs its rule
here when the app is built (``exoshare.sharing.consent.install``), and every record read of
patients (and the services that read through it) applies it in SQL.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import InstrumentedAttribute

from exoshare.auth.scope import Permission, Principal
from exoshare.network import service as network_service

Column = ColumnElement[str] | InstrumentedAttribute[str]


class CrossClinicRule(Protocol):
    def __call__(
        self, principal: Principal, patient_id: Column, clinic_id: Column
    ) -> ColumnElement[bool]:
        """SQL condition a row must also meet: the read stays inside the caller's own clinic,
        or the patient consented to care by that clinic."""
        ...


_installed: list[CrossClinicRule] = []


def install(rule: CrossClinicRule) -> None:
    """Apply ``rule`` to every later record read (once; installing it again changes nothing)."""
    if rule not in _installed:
        _installed.append(rule)


def readable(principal: Principal, patient_id: Column, clinic_id: Column) -> ColumnElement[bool]:
    """SQL condition: staff of the patient's clinic scope (``patients:read``) who also pass
    every installed cross-clinic rule."""
    in_scope = network_service.in_scope(principal, Permission.patients_read, clinic_id)
    return and_(in_scope, *(rule(principal, patient_id, clinic_id) for rule in _installed))
