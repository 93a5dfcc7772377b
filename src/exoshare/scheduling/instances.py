"""Seeded synthetic scheduling instances (small / medium / large) on a five-region demo network."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from exoshare.scheduling.priority import PRIORITY_WEIGHT, Priority
from exoshare.scheduling.problem import (
    Clinic,
    DeviceModel,
    DeviceUnit,
    Horizon,
    Interval,
    SchedulingProblem,
    Therapist,
    WaitingPatient,
    WeeklyHours,
)

REGIONS = ("North America", "Europe", "Asia-Pacific", "Africa", "Latin America")

CITIES: dict[str, list[tuple[str, str, float, float]]] = {
    # region -> (city, ISO country, lat, lon)
    "North America": [
        ("New York", "US", 40.7128, -74.0060),
        ("Chicago", "US", 41.8781, -87.6298),
        ("Toronto", "CA", 43.6532, -79.3832),
        ("Houston", "US", 29.7604, -95.3698),
    ],
    "Europe": [
        ("Berlin", "DE", 52.5200, 13.4050),
        ("Zurich", "CH", 47.3769, 8.5417),
        ("Madrid", "ES", 40.4168, -3.7038),
        ("Milan", "IT", 45.4642, 9.1900),
    ],
    "Asia-Pacific": [
        ("Tokyo", "JP", 35.6762, 139.6503),
        ("Seoul", "KR", 37.5665, 126.9780),
        ("Sydney", "AU", -33.8688, 151.2093),
        ("Bengaluru", "IN", 12.9716, 77.5946),
    ],
    "Africa": [
        ("Nairobi", "KE", -1.2921, 36.8219),
        ("Lagos", "NG", 6.5244, 3.3792),
        ("Johannesburg", "ZA", -26.2041, 28.0473),
        ("Accra", "GH", 5.6037, -0.1870),
    ],
    "Latin America": [
        ("São Paulo", "BR", -23.5505, -46.6333),
        ("Mexico City", "MX", 19.4326, -99.1332),
        ("Bogotá", "CO", 4.7110, -74.0721),
        ("Buenos Aires", "AR", -34.6037, -58.3816),
    ],
}

_EU = {"DE", "ES", "IT", "FR", "NL", "AT"}
MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        "TRD-1",
        1.00,
        2.00,
        135.0,
        frozenset({"US", "CA", "CH", "JP", "KR", "AU", "IN", "BR", "MX", "CO", "AR", "ZA"} | _EU),
        "treadmill gait robot",
    ),
    DeviceModel(
        "EXO-A",
        1.50,
        1.95,
        100.0,
        frozenset({"US", "CA", "CH", "JP", "KR", "AU", "BR"} | _EU),
        "overground exoskeleton",
    ),
    DeviceModel(
        "EXO-P",
        1.60,
        1.90,
        100.0,
        frozenset({"US", "DE", "IT", "JP", "KR"}),
        "personal exoskeleton",
    ),
    DeviceModel(
        "EXO-L",
        1.45,
        1.90,
        95.0,
        frozenset({"KE", "NG", "ZA", "GH", "IN", "BR", "MX", "CO", "AR", "ES"}),
        "low-cost overground exoskeleton",
    ),
    DeviceModel(
        "PED-1",
        0.95,
        1.55,
        60.0,
        frozenset({"US", "CA", "JP", "AU", "BR", "ZA"} | _EU),
        "paediatric exoskeleton",
    ),
)

PRIORITIES = (
    (Priority.routine, "routine referral", 0.70),
    (Priority.high, "subacute stroke, < 6 months since onset", 0.20),
    (Priority.urgent, "incomplete spinal cord injury, early rehabilitation window", 0.10),
)
"""The referrals' priority mix: level, the reason recorded with it, share of referrals (the
weights are the waitlist's own, :data:`~exoshare.scheduling.priority.PRIORITY_WEIGHT`)."""

SIZES: dict[str, dict[str, int]] = {
    "small": {"clinics": 6, "units": 14, "patients": 150, "weeks": 2, "cities": 3},
    "medium": {"clinics": 20, "units": 70, "patients": 1500, "weeks": 4, "cities": 10},
    "large": {"clinics": 50, "units": 200, "patients": 5000, "weeks": 4, "cities": 20},
}

WEEKDAYS_8_18: WeeklyHours = {d: (time(8), time(18)) for d in range(5)}


@dataclass
class Network:
    """Clinics, devices and staff, plus how patient referrals spread over the clinics."""

    clinics: list[Clinic]
    models: list[DeviceModel]
    units: list[DeviceUnit]
    therapists: list[Therapist]
    referral_share: dict[str, float] = field(default_factory=dict)
    """clinic id -> share of the network's new referrals (uncorrelated with its devices)."""


def generate_network(
    n_clinics: int, n_units: int, *, n_cities: int | None = None, seed: int = 0
) -> Network:
    """A network of clinics in real cities of the five regions; device counts are skewed."""
    rng = np.random.default_rng(seed)
    n_cities = n_cities or max(1, math.ceil(n_clinics / 2.5))
    per_region = math.ceil(n_cities / len(REGIONS))
    cities = [c for k in range(per_region) for r in REGIONS for c in [(r, *CITIES[r][k % 4])]]
    cities = cities[:n_cities]
    clinics: list[Clinic] = []
    for i in range(n_clinics):
        region, _city, country, lat, lon = cities[i % len(cities)]
        # Clinics of one metro area lie 0–25 km from its centre.
        r_km, theta = 25 * math.sqrt(rng.random()), 2 * math.pi * rng.random()
        dlat = r_km * math.cos(theta) / 111.2
        dlon = r_km * math.sin(theta) / (111.2 * math.cos(math.radians(lat)))
        hours = dict(WEEKDAYS_8_18)
        if rng.random() < 0.3:
            hours[5] = (time(9), time(13))
        clinics.append(Clinic(f"C{i + 1:02d}", country, region, lat + dlat, lon + dlon, hours))
    # Device counts: every clinic has one; the rest go to a few well-equipped centres.
    counts = np.ones(n_clinics, dtype=int)
    weights = rng.lognormal(0, 1.0, n_clinics)
    extra = rng.choice(n_clinics, size=max(0, n_units - n_clinics), p=weights / weights.sum())
    np.add.at(counts, extra, 1)
    models = list(MODELS)
    units: list[DeviceUnit] = []
    therapists: list[Therapist] = []
    for c, n in zip(clinics, counts, strict=True):
        approved = [m for m in models if c.country in m.approved_countries]
        mix = np.array(
            [4.0 if m.id == "TRD-1" else 1.0 if m.id == "PED-1" else 2.5 for m in approved]
        )
        own: list[str] = []
        for _ in range(int(n)):
            m = approved[int(rng.choice(len(approved), p=mix / mix.sum()))]
            own.append(m.id)
        for k, mid in enumerate(own):
            maintenance: tuple[Interval, ...] = ()
            if rng.random() < 0.3:
                # One 1–2 day service visit somewhere in the first four weeks.
                day = int(rng.integers(0, 26))
                maintenance = (
                    (_monday_origin(day), _monday_origin(day + int(rng.integers(1, 3)))),
                )
            units.append(DeviceUnit(f"{c.id}-U{k + 1}", mid, c.id, maintenance))
        n_ther = max(1, round(n * rng.uniform(0.9, 1.4)))
        models_here = sorted(set(own))
        for k in range(n_ther):
            certs = {models_here[k % len(models_here)]}
            if len(models_here) > 1 and rng.random() < 0.5:
                certs.add(models_here[int(rng.integers(len(models_here)))])
            start = time(8) if k % 2 == 0 else time(10)
            end = time(16) if k % 2 == 0 else time(18)
            days = range(5) if rng.random() < 0.8 else range(3)
            therapists.append(
                Therapist(
                    f"{c.id}-T{k + 1}", c.id, frozenset(certs), {d: (start, end) for d in days}
                )
            )
    share = rng.lognormal(0, 0.8, n_clinics)
    referral_share = {c.id: float(s) for c, s in zip(clinics, share / share.sum(), strict=True)}
    return Network(clinics, models, units, therapists, referral_share)


_ORIGIN = date(2025, 3, 3)  # a Monday; maintenance is expressed relative to it


def _monday_origin(day: int) -> datetime:
    return datetime.combine(_ORIGIN + timedelta(days=day), time())


def generate_patients(
    network: Network,
    n: int,
    *,
    referred_between: tuple[date, date],
    rng: np.random.Generator,
    id_prefix: str = "P",
    first_index: int = 1,
) -> list[WaitingPatient]:
    """Patients referred to clinics in proportion to ``referral_share``, living near them."""
    ids = list(network.referral_share)
    share = np.array([network.referral_share[c] for c in ids])
    by_id = {c.id: c for c in network.clinics}
    lo, hi = referred_between
    span = max(1, (hi - lo).days)
    out: list[WaitingPatient] = []
    for k in range(n):
        c = by_id[ids[int(rng.choice(len(ids), p=share))]]
        # Most patients live within ~15 km of their clinic; a tail lives far out.
        r_km = rng.exponential(12.0) if rng.random() < 0.9 else rng.uniform(30, 90)
        theta = 2 * math.pi * rng.random()
        lat = c.lat_deg + r_km * math.cos(theta) / 111.2
        lon = c.lon_deg + r_km * math.sin(theta) / (111.2 * math.cos(math.radians(c.lat_deg)))
        paediatric = rng.random() < 0.05
        height = float(rng.normal(1.30, 0.12) if paediatric else rng.normal(1.71, 0.10))
        weight = float(rng.normal(30, 8) if paediatric else rng.normal(78, 16))
        pr = int(rng.choice(len(PRIORITIES), p=[p[2] for p in PRIORITIES]))
        out.append(
            WaitingPatient(
                id=f"{id_prefix}{first_index + k:05d}",
                home_lat_deg=lat,
                home_lon_deg=lon,
                country=c.country,
                height_m=round(min(2.15, max(0.9, height)), 2),
                weight_kg=round(min(170.0, max(15.0, weight)), 1),
                referral_date=lo + timedelta(days=int(rng.integers(0, span))),
                priority_weight=PRIORITY_WEIGHT[PRIORITIES[pr][0]],
                priority_reason=PRIORITIES[pr][1],
                sessions_per_week=int(rng.choice([2, 3, 3, 4, 5])),
                course_sessions=int(rng.choice([12, 20, 24, 30, 36])),
                referring_clinic_id=c.id,
            )
        )
    return out


def generate_instance(
    size: str = "small", *, seed: int = 0, travel_limit_km: float = 50.0
) -> SchedulingProblem:
    """A seeded instance: ``small`` (150 patients), ``medium`` (1,500), ``large`` (5,000).

    The large one has 50 clinics in 20 cities, 200 units and a 4-week horizon.

    >>> pb = generate_instance("large", seed=0)  # doctest: +SKIP
    >>> len(pb.patients), len(pb.units), len(pb.clinics), pb.horizon.weeks  # doctest: +SKIP
    (5000, 200, 50, 4)
    """
    spec = SIZES[size]
    network = generate_network(spec["clinics"], spec["units"], n_cities=spec["cities"], seed=seed)
    rng = np.random.default_rng(seed + 1)
    patients = generate_patients(
        network,
        spec["patients"],
        referred_between=(_ORIGIN - timedelta(days=180), _ORIGIN),
        rng=rng,
    )
    return SchedulingProblem(
        clinics=network.clinics,
        models=network.models,
        units=network.units,
        therapists=network.therapists,
        patients=patients,
        horizon=Horizon(_ORIGIN, spec["weeks"], 60),
        travel_limit_km=travel_limit_km,
    )
