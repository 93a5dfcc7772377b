"""Scheduling: waitlist instance, hard rules, network CP-SAT solver, FCFS baseline, simulation."""

from exoshare.scheduling.fcfs import FcfsScheduler
from exoshare.scheduling.problem import (
    Assignment,
    Clinic,
    DeviceModel,
    DeviceUnit,
    Horizon,
    SchedulingInputError,
    SchedulingProblem,
    Therapist,
    WaitingPatient,
    haversine_km,
    schedule_violations,
)
from exoshare.scheduling.solver import SessionScheduler, SolveStats, StageStats

__all__ = [
    "Assignment",
    "Clinic",
    "DeviceModel",
    "DeviceUnit",
    "FcfsScheduler",
    "Horizon",
    "SchedulingInputError",
    "SchedulingProblem",
    "SessionScheduler",
    "SolveStats",
    "StageStats",
    "Therapist",
    "WaitingPatient",
    "haversine_km",
    "schedule_violations",
]
