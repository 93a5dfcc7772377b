"""Hand-checkable scheduling instances are built from the same parts: a patient at home in
Berlin (the German approvals), routine priority, a short course."""

from __future__ import annotations

from datetime import date

from exoshare.scheduling.problem import WaitingPatient

MONDAY = date(2025, 3, 3)
BERLIN = (52.52, 13.405)


def waiting_patient(pid: str, **kw: object) -> WaitingPatient:
    """A routine German patient at home in Berlin, 1.75 m and 75 kg, wanting two sessions a
    week for a course of two, referred on 1 February 2025; ``kw`` changes any of that."""
    base: dict = dict(
        home_lat_deg=BERLIN[0],
        home_lon_deg=BERLIN[1],
        country="DE",
        height_m=1.75,
        weight_kg=75.0,
        referral_date=date(2025, 2, 1),
        priority_weight=1.0,
        priority_reason="routine referral",
        sessions_per_week=2,
        course_sessions=2,
    )
    base.update(kw)
    return WaitingPatient(pid, **base)
