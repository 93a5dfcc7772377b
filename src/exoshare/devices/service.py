"""Rules of device models, their safety envelopes, and physical units."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth.models import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.devices.models import DeviceModel, DeviceUnit, SafetyEnvelopeSetting
from exoshare.devices.schemas import DeviceType, UnitStatus
from exoshare.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from exoshare.network.models import OrgUnit, Partner, PartnerKind
from exoshare.network.reach import covers_network


@dataclass(frozen=True)
class EnvelopeSpec:
    setting: str
    unit: str
    min_value: float
    max_value: float
    max_step: float
    default_value: float


def _check_envelope(specs: list[EnvelopeSpec]) -> None:
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        where = f"envelope[{i}] ({spec.setting})"
        if spec.setting in seen:
            raise InvalidInput(f"{where}: setting listed twice", field=f"envelope.{i}.setting")
        seen.add(spec.setting)
        if spec.min_value >= spec.max_value:
            raise InvalidInput(f"{where}: min_value must be below max_value", field=f"envelope.{i}")
        if not 0 < spec.max_step <= spec.max_value - spec.min_value:
            raise InvalidInput(
                f"{where}: max_step must be positive and no larger than the range",
                field=f"envelope.{i}.max_step",
            )
        if not spec.min_value <= spec.default_value <= spec.max_value:
            raise InvalidInput(
                f"{where}: default_value must lie within min_value..max_value",
                field=f"envelope.{i}.default_value",
            )


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
    envelope: list[EnvelopeSpec],
    description: str | None = None,
) -> DeviceModel:
    """Register a model. Manufacturers register only their own; seeding uses ``SYSTEM_SEEDING``."""
    maker = session.get(Partner, maker_id)
    if maker is None or maker.kind is not PartnerKind.manufacturer:
        raise InvalidInput(f"maker {maker_id} is not a registered manufacturer", field="maker_id")
    if not principal.can(Permission.models_write):
        raise PermissionDenied("you may not register device models")
    # A model is offered to the whole network: a maker registers its own, and only an operator
    # of the whole network registers another maker's (not one whose grant is on one country).
    if principal.partner_id != maker_id and not covers_network(
        session, principal, Permission.network_write
    ):
        raise PermissionDenied(
            "manufacturers register models of their own organisation only; the network's "
            "operator registers others"
        )
    if not 0.5 <= min_patient_height_m < max_patient_height_m <= 2.5:
        raise InvalidInput(
            "patient height range must satisfy 0.5 <= min < max <= 2.5 (metres)",
            field="min_patient_height_m",
        )
    if not 10 <= max_patient_weight_kg <= 300:
        raise InvalidInput(
            "max_patient_weight_kg must be within 10–300 kg", field="max_patient_weight_kg"
        )
    if session.scalar(select(DeviceModel.id).where(DeviceModel.name == name)):
        raise Conflict(f"a device model named {name!r} already exists", field="name")
    _check_envelope(envelope)
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
    return or_(principal.org_filter(Permission.devices_read, OrgUnit.path), own_models)


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
        .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
        .join(DeviceModel, DeviceModel.id == DeviceUnit.model_id)
        .where(_unit_visible(principal))
    )
    if org_unit_id:
        sub = select(OrgUnit.path).where(OrgUnit.id == org_unit_id).scalar_subquery()
        stmt = stmt.where(OrgUnit.path.startswith(sub))
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
        .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
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
    org_unit = session.get(OrgUnit, org_unit_id)
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
        .join(OrgUnit, OrgUnit.id == DeviceUnit.org_unit_id)
        .join(DeviceModel, DeviceModel.id == DeviceUnit.model_id)
        .where(and_(_unit_visible(principal)))
        .group_by(DeviceUnit.status)
    ).all()
    return {status: count for status, count in rows}
