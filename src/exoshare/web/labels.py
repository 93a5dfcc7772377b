"""Human words for enum values, marked for translation."""

from __future__ import annotations

from exoshare.auth.models import Role
from exoshare.devices.models import DeviceType, UnitStatus
from exoshare.patients.models import Diagnosis, Sex


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


ROLE = {
    Role.consortium_operator: N_("consortium operator"),
    Role.clinic_admin: N_("clinic admin"),
    Role.therapist: N_("therapist"),
    Role.patient: N_("patient"),
    Role.researcher: N_("researcher"),
    Role.manufacturer: N_("manufacturer"),
    Role.trainer: N_("trainer"),
}

DIAGNOSIS = {
    Diagnosis.stroke: N_("Stroke"),
    Diagnosis.spinal_cord_injury: N_("Spinal cord injury"),
    Diagnosis.cerebral_palsy: N_("Cerebral palsy"),
    Diagnosis.multiple_sclerosis: N_("Multiple sclerosis"),
    Diagnosis.other: N_("Other"),
}

SEX = {
    Sex.female: N_("Female"),
    Sex.male: N_("Male"),
    Sex.other: N_("Other"),
    Sex.unknown: N_("Unknown"),
}

UNIT_STATUS = {
    UnitStatus.functioning: N_("Functioning"),
    UnitStatus.awaiting_repair: N_("Awaiting repair"),
    UnitStatus.unserviceable: N_("Unserviceable"),
}

DEVICE_TYPE = {
    DeviceType.overground_exoskeleton: N_("Overground exoskeleton"),
    DeviceType.treadmill_gait_trainer: N_("Treadmill gait trainer"),
    DeviceType.end_effector_trainer: N_("End-effector trainer"),
}
