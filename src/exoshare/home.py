"""The overview of each role: the home page, and the network tree with its counts.

Both gather from every capability below (patients, devices, fleet, network), which is why they
live above all of them rather than in any one: network draws the tree, patients and devices
count their own rows per org unit, fleet meters field usage.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.deps import DbSession
from exoshare.devices import service as devices_service
from exoshare.fleet import metering
from exoshare.network import service as network_service
from exoshare.network.schemas import TreeNodeOut
from exoshare.patients import service as patients_service
from exoshare.web.render import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["network"])

PATIENTS_PER_PAGE = 25


def counted_network_tree(session: Session, principal: Principal) -> list[network_service.TreeNode]:
    """The visible tree with clinic, active-patient and device-unit counts per node."""
    return network_service.network_tree(
        session,
        principal,
        patient_counts=patients_service.active_patient_counts_by_clinic(session, principal),
        unit_counts=devices_service.unit_counts_by_org_unit(session, principal),
    )


@pages.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    context: dict[str, Any] = {}
    if principal.can(Permission.patients_read):
        patients, total = patients_service.list_patients(
            session, principal, limit=PATIENTS_PER_PAGE
        )
        context["patients"] = patients
        context["patients_total"] = total
    if principal.can(Permission.devices_read):
        units, units_total = devices_service.list_units(session, principal, limit=100)
        context["units"] = units
        context["units_total"] = units_total
        context["unit_status_counts"] = devices_service.unit_counts_by_status(session, principal)
    if principal.has_role(Role.consortium_operator) or principal.has_role(Role.researcher):
        context["tree"] = counted_network_tree(session, principal)
    if principal.has_role(Role.manufacturer) or principal.has_role(Role.trainer):
        models, _ = devices_service.list_models(session, limit=100)
        if principal.has_role(Role.manufacturer) and principal.partner_id:
            models = [m for m in models if m.maker_id == principal.partner_id]
            context["field_usage"] = metering.field_usage_by_model(
                session, [m.id for m in models], datetime.now(UTC) - timedelta(days=30)
            )
        context["models"] = models
    if principal.has_role(Role.patient):
        own, _ = patients_service.list_patients(session, principal, limit=5)
        context["own_records"] = [p for p in own if p.user_id == principal.user_id]
    return render(request, "home.html", principal, **context)


def _tree_out(node: network_service.TreeNode) -> TreeNodeOut:
    return TreeNodeOut(
        id=node.unit.id,
        code=node.unit.code,
        name=node.unit.name,
        kind=node.unit.kind,
        clinics=node.clinics,
        patients=node.patients,
        device_units=node.units,
        children=[_tree_out(child) for child in node.children],
    )


@api.get("/network/tree", response_model=list[TreeNodeOut])
def network_tree(session: DbSession, principal: CurrentPrincipal) -> list[TreeNodeOut]:
    """The visible tree with clinic, active-patient and device-unit counts."""
    return [_tree_out(root) for root in counted_network_tree(session, principal)]
