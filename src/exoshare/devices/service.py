"""Rules of device models, their safety envelopes, and physical units."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Subquery,
    and_,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import QueryableAttribute, Session, selectinload
from sqlalchemy.sql.base import ExecutableOption

from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.devices.envelope import SettingLimit, check_envelope
from exoshare.devices.models import DeviceModel, DeviceUnit, SafetyEnvelopeSetting
from exoshare.devices.schemas import DeviceType, UnitStatus
from exoshare.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from exoshare.network import service as network_service
from exoshare.network.reach import covers_network


def create_model(
    session: Session,
    principal: Principal,
    name: str,
    maker_id: str,
    device_type: DeviceType,
    min_patient_height_m: float,
    max_patient_height_m: float,
    max_patient_weight_kg: float,
    power_requirements: str,
    envelope: list[SettingLimit],
    description: str | None = None,
) -> DeviceModel:
    """Register a model. Manufacturers register only their own; seeding uses ``SYSTEM_SEEDING``."""
    if network_service.find_manufacturer(session, maker_id) is None:
        raise InvalidInput(f"maker {maker_id} is not a registered manufacturer", field="maker_id")
    if not principal.can(Permission.models_write):
        raise PermissionDenied.worded(N_("you may not register device models"))
    # A model is offered to the whole network: a maker registers its own, and only an operator
    # of the whole network registers another maker's (not one whose grant is on one country).
    if principal.partner_id != maker_id and not covers_network(
        session, principal, Permission.network_write
    ):
        raise PermissionDenied.worded(
            N_(
                "manufacturers register models of their own organisation only; the network's "
                "operator registers others"
            )
        )
    if not 0.5 <= min_patient_height_m < max_patient_height_m <= 2.5:
        raise InvalidInput.worded(
            N_("patient height range must satisfy 0.5 <= min < max <= 2.5 (metres)"),
            also={"field": "min_patient_height_m"},
        )
    if not 10 <= max_patient_weight_kg <= 300:
        raise InvalidInput.worded(
            N_("max_patient_weight_kg must be within 10–300 kg"),
            also={"field": "max_patient_weight_kg"},
        )
    if session.scalar(select(DeviceModel.id).where(DeviceModel.name == name)):
        raise Conflict(f"a device model named {name!r} already exists", field="name")
    check_envelope(envelope)
    model = DeviceModel(
        name=name,
        maker_id=maker_id,
        device_type=device_type,
        min_patient_height_m=min_patient_height_m,
        max_patient_height_m=max_patient_height_m,
        max_patient_weight_kg=max_patient_weight_kg,
        power_requirements=power_requirements,
        description=description,
        envelope=[SafetyEnvelopeSetting(**spec.__dict__) for spec in envelope],
    )
    session.add(model)
    session.flush()
    return model


def list_models(
    session: Session, limit: int = 50, offset: int = 0
) -> tuple[list[DeviceModel], int]:
    """The catalogue of models is public to every signed-in user."""
    total = session.scalar(select(func.count()).select_from(DeviceModel)) or 0
    rows = session.scalars(
        select(DeviceModel)
        .options(selectinload(DeviceModel.envelope), selectinload(DeviceModel.maker))
        .order_by(DeviceModel.name)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def get_model(session: Session, model_id: str) -> DeviceModel:
    model = session.scalar(
        select(DeviceModel)
        .where(DeviceModel.id == model_id)
        .options(selectinload(DeviceModel.envelope), selectinload(DeviceModel.maker))
    )
    if model is None:
        raise NotFound(f"device model {model_id} not found")
    return model


def _unit_visible(principal: Principal) -> ColumnElement[bool]:
    own_models = (
        DeviceModel.maker_id == principal.partner_id
        if principal.has_role(Role.manufacturer) and principal.partner_id
        else false()
    )
    return or_(
        network_service.in_scope(principal, Permission.devices_read, DeviceUnit.org_unit_id),
        own_models,
    )


def list_units(
    session: Session,
    principal: Principal,
    org_unit_id: str | None = None,
    model_id: str | None = None,
    status: UnitStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DeviceUnit], int]:
    stmt = (
        select(DeviceUnit)
        .join(DeviceModel, DeviceModel.id == DeviceUnit.model_id)
        .where(_unit_visible(principal))
    )
    if org_unit_id:
        stmt = stmt.where(network_service.in_subtree(org_unit_id, DeviceUnit.org_unit_id))
    if model_id:
        stmt = stmt.where(DeviceUnit.model_id == model_id)
    if status:
        stmt = stmt.where(DeviceUnit.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(selectinload(DeviceUnit.model), selectinload(DeviceUnit.org_unit))
        .order_by(DeviceUnit.serial_number)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def get_unit(session: Session, principal: Principal, unit_id: str) -> DeviceUnit:
    unit = session.scalar(
        select(DeviceUnit)
        .join(DeviceModel, DeviceModel.id == DeviceUnit.model_id)
        .where(DeviceUnit.id == unit_id, _unit_visible(principal))
        .options(selectinload(DeviceUnit.model), selectinload(DeviceUnit.org_unit))
    )
    if unit is None:
        raise NotFound(f"device unit {unit_id} not found")
    return unit


def create_unit(
    session: Session,
    principal: Principal,
    serial_number: str,
    model_id: str,
    org_unit_id: str,
) -> DeviceUnit:
    org_unit = network_service.find_org_unit(session, org_unit_id)
    if org_unit is None or (not principal.covers(Permission.network_read, org_unit.path)):
        raise NotFound(f"org unit {org_unit_id} not found", field="org_unit_id")
    if not principal.covers(Permission.units_write, org_unit.path):
        raise PermissionDenied(f"you may not register units at {org_unit.code}")
    if session.get(DeviceModel, model_id) is None:
        raise InvalidInput(f"device model {model_id} does not exist", field="model_id")
    if session.scalar(select(DeviceUnit.id).where(DeviceUnit.serial_number == serial_number)):
        raise Conflict(
            f"a unit with serial {serial_number!r} already exists", field="serial_number"
        )
    unit = DeviceUnit(serial_number=serial_number, model_id=model_id, org_unit_id=org_unit_id)
    session.add(unit)
    session.flush()
    return unit


def set_unit_status(
    session: Session,
    principal: Principal,
    unit_id: str,
    status: UnitStatus,
    reason: str | None,
) -> DeviceUnit:
    unit = get_unit(session, principal, unit_id)
    if not principal.covers(Permission.units_write, unit.org_unit.path):
        raise PermissionDenied(f"you may not change the status of {unit.serial_number}")
    if status is not UnitStatus.functioning and not (reason and reason.strip()):
        raise InvalidInput(f"a reason is required for status {status.value}", field="reason")
    unit.status = status
    unit.status_reason = reason.strip() if reason else None
    return unit


def unit_counts_by_status(session: Session, principal: Principal) -> dict[UnitStatus, int]:
    rows = session.execute(
        select(DeviceUnit.status, func.count())
        .join(DeviceModel, DeviceModel.id == DeviceUnit.model_id)
        .where(and_(_unit_visible(principal)))
        .group_by(DeviceUnit.status)
    ).all()
    return {status: count for status, count in rows}


# ------------------------------------------------------------------- for the fleet's rules
# Unscoped look-ups return rows for rules that check the caller's scope themselves (the fleet
# decides who sees a unit by owner and lessee); the SQL helpers go into the caller's query.


def find_unit(session: Session, unit_id: str) -> DeviceUnit | None:
    """The unit with this id, or None (no scope check: the caller makes it)."""
    return session.get(DeviceUnit, unit_id)


def owners_of(session: Session, unit_ids: Collection[str]) -> dict[str, str]:
    """Unit id -> the org unit owning it, for those of ``unit_ids`` that exist (one query)."""
    if not unit_ids:
        return {}
    return dict(
        session.execute(
            select(DeviceUnit.id, DeviceUnit.org_unit_id).where(DeviceUnit.id.in_(unit_ids))
        ).all()
    )


def units_by_ids(
    session: Session, unit_ids: Select[str] | CompoundSelect | Collection[str]
) -> list[DeviceUnit]:
    """The units whose ids are given (or selected by the subquery), by serial number, each with
    its model and owner loaded (no scope check: the caller makes it)."""
    return list(
        session.scalars(
            select(DeviceUnit)
            .where(DeviceUnit.id.in_(unit_ids))
            .options(selectinload(DeviceUnit.model), selectinload(DeviceUnit.org_unit))
            .order_by(DeviceUnit.serial_number)
        )
    )


def unit_ids_owned_in(principal: Principal, permission: Permission) -> Select[str]:
    """A subquery: the ids of the units owned by an org unit in the caller's ``permission``
    scope."""
    return select(DeviceUnit.id).where(
        network_service.in_scope(principal, permission, DeviceUnit.org_unit_id)
    )


def units_of_models(model_ids: Collection[str]) -> Select[str, str]:
    """A subquery: ``unit_id`` and ``model_id`` of every unit of these models, for another
    table's rows to join to by unit."""
    return select(DeviceUnit.id.label("unit_id"), DeviceUnit.model_id).where(
        DeviceUnit.model_id.in_(model_ids)
    )


def owners_by_model(session: Session, model_ids: Collection[str]) -> dict[str, list[str]]:
    """Model id -> the owner (org unit id) of each of its units, one entry per unit."""
    out: dict[str, list[str]] = {}
    for model_id, owner in session.execute(
        select(DeviceUnit.model_id, DeviceUnit.org_unit_id).where(
            DeviceUnit.model_id.in_(model_ids)
        )
    ).all():
        out.setdefault(model_id, []).append(owner)
    return out


def with_model(units: QueryableAttribute[Any]) -> ExecutableOption:
    """Loader option for another table's relationship to units (``units``): each unit's model
    comes in one query, whatever the number of rows (no N+1)."""
    return selectinload(units).selectinload(DeviceUnit.model)


def unit_counts_by_org_unit(session: Session, principal: Principal) -> dict[str, int]:
    """How many device units each org unit holds, for the org units the caller sees in the
    network tree (``network:read``): the tree's per-node device count."""
    rows = session.execute(
        select(DeviceUnit.org_unit_id, func.count())
        .where(network_service.in_scope(principal, Permission.network_read, DeviceUnit.org_unit_id))
        .group_by(DeviceUnit.org_unit_id)
    ).all()
    return {org_unit_id: count for org_unit_id, count in rows}


# ---------------------------------------------------------------------- for scheduling's rules


def find_model(session: Session, model_id: str) -> DeviceModel | None:
    """The model with this id, or None (models are public)."""
    return session.get(DeviceModel, model_id)


def models_by_ids(session: Session, model_ids: Collection[str]) -> list[DeviceModel]:
    return list(session.scalars(select(DeviceModel).where(DeviceModel.id.in_(model_ids))))


def functioning_units(session: Session) -> list[DeviceUnit]:
    """Every unit whose status is functioning, wherever it is (no scope check)."""
    return list(
        session.scalars(select(DeviceUnit).where(DeviceUnit.status == UnitStatus.functioning))
    )


def units_owned_by_or_among(
    session: Session, org_unit_id: str, unit_ids: Select[str]
) -> list[DeviceUnit]:
    """Units the org unit owns, and those whose ids the subquery selects, by serial number."""
    return list(
        session.scalars(
            select(DeviceUnit)
            .where((DeviceUnit.org_unit_id == org_unit_id) | DeviceUnit.id.in_(unit_ids))
            .order_by(DeviceUnit.serial_number)
        )
    )


# ---------------------------------------------------------------------------- for telemetry


def unit_identities() -> Subquery:
    """Every device unit's ``id``, ``serial_number`` and ``org_unit_id`` (the owner), as a
    subquery another capability joins its own rows to (telemetry: credentials to devices) in
    one statement instead of asking unit by unit."""
    return select(DeviceUnit.id, DeviceUnit.serial_number, DeviceUnit.org_unit_id).subquery(
        "device_unit_identities"
    )


# ------------------------------------------------------------ for the sessions run on units


def envelope_of(session: Session, model_id: str) -> dict[str, SettingLimit]:
    """A model's safety envelope by setting (empty for an unknown model)."""
    rows = session.scalars(
        select(SafetyEnvelopeSetting).where(SafetyEnvelopeSetting.model_id == model_id)
    )
    return {row.setting: SettingLimit.of(row) for row in rows}


def with_model_and_owner(units: QueryableAttribute[Any]) -> tuple[ExecutableOption, ...]:
    """Loader options for another table's relationship to units (``units``): each unit's model
    and owning org unit come in one query each, whatever the number of rows (no N+1)."""
    return (
        selectinload(units).selectinload(DeviceUnit.model),
        selectinload(units).selectinload(DeviceUnit.org_unit),
    )


# ------------------------------------------------------------------ whole-catalogue reads


def all_models(session: Session) -> list[DeviceModel]:
    """Every device model, by name (the catalogue is public to every signed-in user)."""
    return list(session.scalars(select(DeviceModel).order_by(DeviceModel.name)))


def all_units(
    session: Session, principal: Principal, status: UnitStatus | None = None
) -> list[DeviceUnit]:
    """Every unit the caller may see (optionally of one status), by serial number, with its
    model and holder loaded."""
    stmt = (
        select(DeviceUnit)
        .join(DeviceModel, DeviceModel.id == DeviceUnit.model_id)
        .where(_unit_visible(principal))
        .options(selectinload(DeviceUnit.model), selectinload(DeviceUnit.org_unit))
        .order_by(DeviceUnit.serial_number)
    )
    if status is not None:
        stmt = stmt.where(DeviceUnit.status == status)
    return list(session.scalars(stmt))
