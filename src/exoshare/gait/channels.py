"""The telemetry channel registry: every channel a device may send, its unit and range."""

from __future__ import annotations

from dataclasses import dataclass

SIDES = ("left", "right")


@dataclass(frozen=True)
class ChannelSpec:
    """One named signal with its stored unit and the range a real body or device can produce.

    Values outside ``[physical_min, physical_max]`` are impossible (a knee flexed 400°) and are
    rejected at ingestion; they are not clipped.
    """

    name: str
    unit: str
    physical_min: float
    physical_max: float
    description: str


def _sided(stem: str, unit: str, lo: float, hi: float, description: str) -> list[ChannelSpec]:
    return [
        ChannelSpec(f"{stem}_{side}_{_unit_suffix(unit)}", unit, lo, hi, f"{description} ({side})")
        for side in SIDES
    ]


def _unit_suffix(unit: str) -> str:
    return {
        "deg": "deg",
        "deg/s": "dps",
        "m/s^2": "mps2",
        "N*m": "nm",
        "N": "n",
        "degC": "c",
        "%": "pct",
    }[unit]


def _build() -> dict[str, ChannelSpec]:
    specs: list[ChannelSpec] = []
    # Joint angles, sagittal plane. Sign: flexion positive for hip and knee, dorsiflexion positive
    # for the ankle. Ranges are anatomical limits with margin, not typical gait ranges.
    specs += _sided("hip_angle", "deg", -60.0, 150.0, "hip flexion angle")
    specs += _sided("knee_angle", "deg", -20.0, 170.0, "knee flexion angle")
    specs += _sided("ankle_angle", "deg", -70.0, 50.0, "ankle dorsiflexion angle")
    # Shank IMU in the segment frame: x along the shank (up), y posterior, z = x × y, which
    # points to the right. Forward swing (the ankle moving ahead of the knee) is then a positive
    # z rate; devices mount the sensor mirrored on the left leg so the sign holds on both sides.
    # Foot IMU (as in foot-mounted research sensors): x towards the toes, y to the left, z up;
    # the medio-lateral rate is y.
    for segment in ("shank", "foot"):
        for axis in ("x", "y", "z"):
            specs += _sided(
                f"{segment}_acc_{axis}", "m/s^2", -160.0, 160.0, f"{segment} acceleration {axis}"
            )
            specs += _sided(
                f"{segment}_gyr_{axis}", "deg/s", -2000.0, 2000.0, f"{segment} angular rate {axis}"
            )
    specs += _sided("hip_torque", "N*m", -200.0, 200.0, "hip motor torque")
    specs += _sided("knee_torque", "N*m", -200.0, 200.0, "knee motor torque")
    specs += _sided("interaction_force", "N", -1000.0, 1000.0, "cuff interaction force")
    specs += _sided(
        "emg_envelope", "%", 0.0, 200.0, "EMG envelope, % of maximal voluntary contraction"
    )
    specs += _sided("skin_temp", "degC", 10.0, 60.0, "skin temperature under the cuff")
    specs.append(ChannelSpec("battery_pct", "%", 0.0, 100.0, "battery state of charge"))
    specs.append(ChannelSpec("assistance_pct", "%", 0.0, 100.0, "guidance force currently applied"))
    specs.append(
        ChannelSpec("treadmill_speed_mps", "m/s", 0.0, 5.0, "belt speed, treadmill trainers only")
    )
    return {spec.name: spec for spec in specs}


CHANNELS: dict[str, ChannelSpec] = _build()
"""All known channels by name. Channel names carry their unit as a suffix."""


def channel(name: str) -> ChannelSpec:
    """Return the spec of a channel, or raise ``KeyError`` naming the known channels."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise KeyError(
            f"unknown channel {name!r}; known channels are: {', '.join(sorted(CHANNELS))}"
        ) from None
