"""The objective section a SOAP note starts with: the session's gait summary in words."""

from __future__ import annotations

from collections.abc import Callable

from exoshare.telerehab.progress import ProgressPoint


def objective_from_summary(point: ProgressPoint | None, gettext: Callable[[str], str]) -> str:
    """One line per measured quantity of the session's analysed recording (empty without one).

    >>> from datetime import datetime
    >>> p = ProgressPoint(
    ...     "t", datetime(2026, 1, 5), 1500.0, 82.4, 6.2, 8.1, 48.6, 0.21, 312.0, 60.0, 410
    ... )
    >>> print(objective_from_summary(p, lambda s: s))
    Device-measured (gait analysis of this session):
    - duration 25 min, 410 steps, 312 m walked
    - cadence 82.4 steps/min
    - step-time symmetry index 8.1 %, stride-time symmetry index 6.2 %
    - knee range of motion 48.6° (mean of both knees)
    - assistance 60 %
    """
    if point is None:
        return ""
    lines = [gettext("Device-measured (gait analysis of this session):")]
    walked = []
    if point.duration_s is not None:
        walked.append(gettext("duration %(min).0f min") % {"min": point.duration_s / 60})
    if point.step_count is not None:
        walked.append(gettext("%(n)d steps") % {"n": point.step_count})
    if point.distance_m is not None:
        walked.append(gettext("%(m).0f m walked") % {"m": point.distance_m})
    if walked:
        lines.append("- " + ", ".join(walked))
    if point.cadence_steps_per_min is not None:
        lines.append(
            "- " + gettext("cadence %(v).1f steps/min") % {"v": point.cadence_steps_per_min}
        )
    symmetry = []
    if point.step_time_symmetry_pct is not None:
        symmetry.append(
            gettext("step-time symmetry index %(v).1f %%") % {"v": point.step_time_symmetry_pct}
        )
    if point.stride_time_symmetry_pct is not None:
        symmetry.append(
            gettext("stride-time symmetry index %(v).1f %%") % {"v": point.stride_time_symmetry_pct}
        )
    if symmetry:
        lines.append("- " + ", ".join(symmetry))
    if point.knee_rom_deg is not None:
        lines.append(
            "- "
            + gettext("knee range of motion %(v).1f° (mean of both knees)")
            % {"v": point.knee_rom_deg}
        )
    if point.assistance_pct is not None:
        lines.append("- " + gettext("assistance %(v).0f %%") % {"v": point.assistance_pct})
    return "\n".join(lines) if len(lines) > 1 else ""
