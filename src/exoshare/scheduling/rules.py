"""The hard rules that decide which (clinic, device model) a patient may use, and why not."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from exoshare.scheduling.problem import EARTH_RADIUS_KM, SchedulingProblem, WaitingPatient


@dataclass(frozen=True)
class Option:
    """A (clinic, model) pair a patient may be treated on, with the one-way distance from home."""

    clinic_id: str
    model_id: str
    distance_km: float


@dataclass
class Screening:
    """Result of applying the hard rules to every waiting patient."""

    options: dict[str, list[Option]] = field(default_factory=dict)
    """patient id -> feasible options, nearest first (absent or empty when none)."""
    reasons: dict[str, list[str]] = field(default_factory=dict)
    """patient id -> why no option exists, one sentence per rule that ruled options out."""
    group_slots: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    """(clinic, model) -> slots with a free unit of the model and a free certified therapist."""
    span_starts: dict[tuple[str, str, int], set[int]] = field(default_factory=dict)
    """(clinic, model, session slots > 1) -> start slots from which one unit of the model and
    one certified therapist are both free for the whole session, in one go."""

    def starts_for(self, clinic_id: str, model_id: str, session_slots: int) -> set[int]:
        """Where a session of ``session_slots`` slots may start in the (clinic, model) group."""
        if session_slots == 1:
            return self.group_slots.get((clinic_id, model_id), set())
        return self.span_starts.get((clinic_id, model_id, session_slots), set())


def distance_matrix_km(problem: SchedulingProblem) -> np.ndarray:
    """Haversine distances patients x clinics, vectorised (see :func:`haversine_km`)."""
    plat = np.radians([p.home_lat_deg for p in problem.patients])[:, None]
    plon = np.radians([p.home_lon_deg for p in problem.patients])[:, None]
    clat = np.radians([c.lat_deg for c in problem.clinics])[None, :]
    clon = np.radians([c.lon_deg for c in problem.clinics])[None, :]
    a = (
        np.sin((clat - plat) / 2) ** 2
        + np.cos(plat) * np.cos(clat) * np.sin((clon - plon) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a))))


def group_availability(problem: SchedulingProblem) -> dict[tuple[str, str], set[int]]:
    unit_slots: dict[tuple[str, str], set[int]] = defaultdict(set)
    for u in problem.units:
        unit_slots[(u.clinic_id, u.model_id)].update(problem.unit_slots(u))
    ther_slots: dict[tuple[str, str], set[int]] = defaultdict(set)
    for t in problem.therapists:
        slots = problem.therapist_slots(t)
        for m in t.certified_model_ids:
            ther_slots[(t.clinic_id, m)].update(slots)
    return {g: s & ther_slots.get(g, set()) for g, s in unit_slots.items()}


def span_availability(
    problem: SchedulingProblem, session_slots: int
) -> dict[tuple[str, str], set[int]]:
    """(clinic, model) -> start slots of a ``session_slots``-long session: the same unit free
    for all of its slots and the same certified therapist free for all of them (one sitting,
    one person; a hand-over half-way is not a session)."""
    h = problem.horizon

    def starts(free: set[int]) -> set[int]:
        return {
            s
            for s in free
            if (span := h.span(s, session_slots)) is not None and all(k in free for k in span)
        }

    unit_starts: dict[tuple[str, str], set[int]] = defaultdict(set)
    for u in problem.units:
        unit_starts[(u.clinic_id, u.model_id)] |= starts(set(problem.unit_slots(u)))
    ther_starts: dict[tuple[str, str], set[int]] = defaultdict(set)
    for t in problem.therapists:
        free = starts(set(problem.therapist_slots(t)))
        for m in t.certified_model_ids:
            ther_starts[(t.clinic_id, m)] |= free
    return {g: s & ther_starts.get(g, set()) for g, s in unit_starts.items()}


def screen(problem: SchedulingProblem, *, referring_clinic_only: bool = False) -> Screening:
    """Apply every hard rule; keep the options that pass and explain the patients left with none.

    With ``referring_clinic_only`` a patient may only use the clinic whose waitlist holds them
    (the status quo); otherwise any clinic of the network within the travel limit.
    """
    limit = problem.travel_limit_km
    dist = distance_matrix_km(problem)
    col = {c.id: j for j, c in enumerate(problem.clinics)}
    models_at: dict[str, set[str]] = defaultdict(set)
    for u in problem.units:
        models_at[u.clinic_id].add(u.model_id)
    certified: set[tuple[str, str]] = {
        (t.clinic_id, m) for t in problem.therapists for m in t.certified_model_ids
    }
    group_slots = group_availability(problem)
    out = Screening(group_slots=group_slots)
    for k in sorted({p.session_slots for p in problem.patients if p.session_slots > 1}):
        for (c, m), starts in span_availability(problem, k).items():
            out.span_starts[(c, m, k)] = starts
    for i, p in enumerate(problem.patients):
        if referring_clinic_only and p.referring_clinic_id is not None:
            cols = [col[p.referring_clinic_id]]
        else:
            cols = list(range(len(problem.clinics)))
        reachable = [j for j in cols if dist[i, j] <= limit]
        if not cols:
            # A run over clinics none of which has a location (or none at all): no distance.
            out.reasons[p.id] = ["no clinic with a known location in this schedule run"]
            continue
        if not reachable:
            j = min(cols, key=lambda j: dist[i, j])
            where = "of home at the referring clinic" if referring_clinic_only else "of home"
            out.reasons[p.id] = [
                f"no clinic within {limit:.0f} km {where} "
                f"(nearest: {problem.clinic_label(problem.clinics[j].id)} at {dist[i, j]:.0f} km)"
            ]
            continue
        opts, failed = _check_pairs(problem, p, reachable, dist[i], models_at, certified, out)
        if opts:
            out.options[p.id] = sorted(opts, key=lambda o: (o.distance_km, o.clinic_id, o.model_id))
        else:
            out.reasons[p.id] = _explain(problem, p, failed)
    return out


def _check_pairs(
    problem: SchedulingProblem,
    p: WaitingPatient,
    reachable: list[int],
    dist_row: np.ndarray,
    models_at: dict[str, set[str]],
    certified: set[tuple[str, str]],
    screening: Screening,
) -> tuple[list[Option], dict[str, list[tuple[str, str]]]]:
    """Options passing every rule, and the (clinic, model) pairs failed grouped by first rule."""
    opts: list[Option] = []
    failed: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for j in reachable:
        c = problem.clinics[j]
        for mid in sorted(models_at[c.id]):
            m = problem.model_by_id[mid]
            if not m.height_min_m <= p.height_m <= m.height_max_m:
                failed["height"].append((c.id, mid))
            elif p.weight_kg > m.weight_max_kg:
                failed["weight"].append((c.id, mid))
            elif c.country not in m.approved_countries:
                # The approval that counts is the one where the device is used: the clinic's.
                failed["approval"].append((c.id, mid))
            elif (c.id, mid) not in certified:
                failed["therapist"].append((c.id, mid))
            elif not screening.group_slots.get((c.id, mid)):
                failed["slots"].append((c.id, mid))
            elif not screening.starts_for(c.id, mid, p.session_slots):
                failed["span"].append((c.id, mid))
            else:
                opts.append(Option(c.id, mid, float(dist_row[j])))
    return opts, failed


def _explain(
    problem: SchedulingProblem, p: WaitingPatient, failed: dict[str, list[tuple[str, str]]]
) -> list[str]:
    limit = problem.travel_limit_km
    n_pairs = sum(len(v) for v in failed.values())
    if n_pairs == 0:
        return [f"no device unit at any clinic within {limit:.0f} km"]

    def scope(rule: str) -> str:
        return "every reachable model's" if len(failed[rule]) == n_pairs else "the range of"

    def models(rule: str) -> list[str]:
        return sorted({problem.model_label(m) for _, m in failed[rule]})

    reasons: list[str] = []
    if failed["height"]:
        ranges = sorted(
            {
                (problem.model_by_id[m].height_min_m, problem.model_by_id[m].height_max_m)
                for m in {m for _, m in failed["height"]}
            }
        )
        text = ", ".join(f"{lo:.2f}–{hi:.2f} m" for lo, hi in ranges)
        who = (
            "every reachable model's range"
            if scope("height").startswith("every")
            else (f"the range of {', '.join(models('height'))}")
        )
        reasons.append(f"height {p.height_m:.2f} m outside {who} {text}")
    if failed["weight"]:
        top = max(problem.model_by_id[m].weight_max_kg for _, m in failed["weight"])
        who = (
            "every reachable model's limit"
            if scope("weight").startswith("every")
            else (f"the limit of {', '.join(models('weight'))}")
        )
        reasons.append(f"weight {p.weight_kg:.0f} kg above {who} (at most {top:.0f} kg)")
    if failed["approval"]:
        pairs = ", ".join(
            f"{problem.model_label(m)} at {problem.clinic_label(c)} "
            f"({problem.clinic_by_id[c].country})"
            for c, m in failed["approval"]
        )
        reasons.append(
            f"no approved model within {limit:.0f} km: not approved in the clinic's country "
            f"for {pairs}"
        )
    if failed["therapist"]:
        pairs = ", ".join(
            f"{problem.model_label(m)} at {problem.clinic_label(c)}" for c, m in failed["therapist"]
        )
        reasons.append(f"no certified therapist: nobody certified for {pairs}")
    if failed["slots"]:
        pairs = ", ".join(
            f"{problem.model_label(m)} at {problem.clinic_label(c)}" for c, m in failed["slots"]
        )
        reasons.append(
            f"no certified therapist free: no slot in the horizon where a unit and a certified "
            f"therapist are both free for {pairs}"
        )
    if failed["span"]:
        pairs = ", ".join(
            f"{problem.model_label(m)} at {problem.clinic_label(c)}" for c, m in failed["span"]
        )
        minutes = problem.horizon.session_min_of(p.session_slots)
        reasons.append(
            f"no room for a {minutes}-min session: nowhere in the horizon are one unit and one "
            f"certified therapist both free for {p.session_slots} consecutive slots, for {pairs}"
        )
    return reasons
