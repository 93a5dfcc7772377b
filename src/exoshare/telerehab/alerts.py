"""Safety alert rules evaluated on live telemetry: one alert per episode, cleared with hysteresis.

Pure: the live hub feeds sample batches (channel arrays, as stored) and clock ticks; the monitor
answers with alerts that start or clear. Rules come from the device model and the patient
(e.g. a lower skin-temperature limit for a patient with reduced sensation).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import cast

import numpy as np

STANDARD_GRAVITY_MPS2 = 9.80665


class AlertKind(enum.StrEnum):
    skin_temperature = "skin_temperature"
    interaction_force = "interaction_force"
    fall = "fall"
    battery_low = "battery_low"
    link_lost = "link_lost"
    gait_asymmetry = "gait_asymmetry"


class Severity(enum.StrEnum):
    warning = "warning"
    critical = "critical"


@dataclass(frozen=True)
class AlertRules:
    """Limits for one live session (model defaults, tightened per patient where needed)."""

    skin_temp_limit_c: float = 41.0
    interaction_force_limit_n: float = 250.0
    # Falls: an impact above this acceleration magnitude (Bourke et al. 2007 use ~2.8 g at the
    # trunk; a shank sees larger heel-strike peaks, hence the higher default).
    fall_impact_g: float = 6.0
    battery_low_pct: float = 15.0
    link_lost_after_s: float = 5.0
    asymmetry_limit_pct: float = 30.0
    # How long a limit must be exceeded before it counts, so single-sample spikes do not alarm.
    sustain_s: float = 1.0


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    severity: Severity
    at_s: float
    value: float
    limit: float
    message: str
    cleared: bool = False


@dataclass
class _Episode:
    above_since_s: float | None = None
    active: bool = False


@dataclass
class AlertMonitor:
    """Stateful evaluation of :class:`AlertRules` over consecutive batches of one session."""

    rules: AlertRules
    sampling_rate_hz: float
    _episodes: dict[AlertKind, _Episode] = field(default_factory=dict)
    _last_data_s: float | None = None

    def _episode(self, kind: AlertKind) -> _Episode:
        return self._episodes.setdefault(kind, _Episode())

    def active(self) -> set[AlertKind]:
        return {kind for kind, episode in self._episodes.items() if episode.active}

    def observe(
        self, start_s: float, channels: Mapping[str, np.ndarray], quiet: bool | None = None
    ) -> list[Alert]:
        """Evaluate one batch whose first sample is at ``start_s`` (seconds, session clock).

        ``quiet``: what :func:`quiet_batches` answered for this batch and this monitor's
        :meth:`quiet_plan` (the hub checks the batches of a turn together); None checks here."""
        n = len(next(iter(channels.values()))) if channels else 0
        if n == 0:
            return []
        if quiet is None:
            plan = self.quiet_plan(channels)
            quiet = plan is not None and quiet_batches([(plan, plan.rows_of(channels, n))])[0]
        if quiet:
            # As float(times[-1]) below: the same two IEEE operations.
            self._last_data_s = start_s + (n - 1) / self.sampling_rate_hz
            return []
        times = start_s + np.arange(n) / self.sampling_rate_hz
        self._last_data_s = float(times[-1])
        alerts: list[Alert] = []
        link = self._episode(AlertKind.link_lost)
        if link.active:
            link.active = False
            alerts.append(
                Alert(
                    AlertKind.link_lost,
                    Severity.warning,
                    float(times[0]),
                    0.0,
                    self.rules.link_lost_after_s,
                    "link restored",
                    cleared=True,
                )
            )
        skin = _max_of(channels, "skin_temp_left_c", "skin_temp_right_c")
        if skin is not None:
            alerts += self._sustained(
                AlertKind.skin_temperature,
                Severity.critical,
                times,
                skin,
                self.rules.skin_temp_limit_c,
                "skin temperature {value:.1f} °C above {limit:.1f} °C",
            )
        force = _max_of(
            channels, "interaction_force_left_n", "interaction_force_right_n", absolute=True
        )
        if force is not None:
            alerts += self._sustained(
                AlertKind.interaction_force,
                Severity.critical,
                times,
                force,
                self.rules.interaction_force_limit_n,
                "interaction force {value:.0f} N above the envelope's {limit:.0f} N",
                sustain_s=min(self.rules.sustain_s, 0.2),
            )
        impact = _acc_magnitude_g(channels)
        if impact is not None:
            alerts += self._instant(
                AlertKind.fall,
                Severity.critical,
                times,
                impact,
                self.rules.fall_impact_g,
                "possible fall: impact of {value:.1f} g",
            )
        if "battery_pct" in channels:
            alerts += self._below(
                AlertKind.battery_low,
                Severity.warning,
                times,
                np.asarray(channels["battery_pct"], float),
                self.rules.battery_low_pct,
                "battery at {value:.0f} %",
            )
        return alerts

    def quiet_plan(self, channels: Mapping[str, np.ndarray]) -> QuietPlan | None:
        """The rows to compare for a batch with these channels to be quiet (neither start nor
        clear an alert), or None when it cannot be: an episode is open and the batch takes the
        rules' exact path."""
        link = self._episodes.get(AlertKind.link_lost)
        if link is not None and link.active:
            return None
        for kind in (AlertKind.skin_temperature, AlertKind.interaction_force):
            episode = self._episodes.get(kind)
            if episode is not None and (episode.active or episode.above_since_s is not None):
                return None
        fall = self._episodes.get(AlertKind.fall)
        battery = self._episodes.get(AlertKind.battery_low)
        return _quiet_plan(
            self.rules,
            _present(tuple(channels)),
            fall is not None and fall.active,
            battery is not None and battery.active,
        )

    def observe_asymmetry(self, at_s: float, step_time_symmetry_index_pct: float) -> list[Alert]:
        """Feed the latest rolling step-time symmetry index (%, Robinson 1987) from the engine."""
        value = abs(step_time_symmetry_index_pct)
        return self._instant(
            AlertKind.gait_asymmetry,
            Severity.warning,
            np.array([at_s]),
            np.array([value]),
            self.rules.asymmetry_limit_pct,
            "step-time asymmetry {value:.0f} % above {limit:.0f} %",
            clear_below=self.rules.asymmetry_limit_pct * 0.8,
        )

    def tick(self, now_s: float) -> list[Alert]:
        """Check the link: no data for longer than the limit raises ``link_lost`` once."""
        if self._last_data_s is None:
            return []
        silent_s = now_s - self._last_data_s
        episode = self._episode(AlertKind.link_lost)
        if silent_s > self.rules.link_lost_after_s and not episode.active:
            episode.active = True
            return [
                Alert(
                    AlertKind.link_lost,
                    Severity.warning,
                    now_s,
                    silent_s,
                    self.rules.link_lost_after_s,
                    f"no data for {silent_s:.0f} s",
                )
            ]
        return []

    def _sustained(
        self,
        kind: AlertKind,
        severity: Severity,
        times: np.ndarray,
        values: np.ndarray,
        limit: float,
        message: str,
        sustain_s: float | None = None,
    ) -> list[Alert]:
        sustain = self.rules.sustain_s if sustain_s is None else sustain_s
        episode = self._episode(kind)
        above = values > limit  # NaN compares False: a missing sample is not above
        if episode.above_since_s is None and not episode.active and not above.any():
            return []  # the usual batch, checked in one vectorised comparison
        out: list[Alert] = []
        # Walk runs of equal state rather than samples: a batch holds one or two runs.
        bounds = np.concatenate(
            ([0], np.flatnonzero(np.diff(above.astype(np.int8))) + 1, [len(above)])
        )
        for first, stop in pairwise(bounds):
            if not above[first]:
                if episode.active:
                    episode.active = False
                    value = float(values[first])
                    out.append(
                        Alert(
                            kind,
                            severity,
                            float(times[first]),
                            value,
                            limit,
                            message.format(value=value, limit=limit),
                            cleared=True,
                        )
                    )
                episode.above_since_s = None
                continue
            if episode.above_since_s is None:
                episode.above_since_s = float(times[first])
            if episode.active:
                continue
            held = times[first:stop] - episode.above_since_s >= sustain - 1e-9
            if held.any():
                i = first + int(np.argmax(held))
                episode.active = True
                peak = float(np.nanmax(values[first:stop]))
                out.append(
                    Alert(
                        kind,
                        severity,
                        float(times[i]),
                        peak,
                        limit,
                        message.format(value=peak, limit=limit),
                    )
                )
        return out

    def _instant(
        self,
        kind: AlertKind,
        severity: Severity,
        times: np.ndarray,
        values: np.ndarray,
        limit: float,
        message: str,
        clear_below: float | None = None,
    ) -> list[Alert]:
        episode = self._episode(kind)
        finite = np.nan_to_num(values, nan=-np.inf)
        if not episode.active and np.any(finite > limit):
            i = int(np.argmax(finite))
            episode.active = True
            return [
                Alert(
                    kind,
                    severity,
                    float(times[i]),
                    float(values[i]),
                    limit,
                    message.format(value=values[i], limit=limit),
                )
            ]
        if episode.active and clear_below is not None and np.all(finite < clear_below):
            episode.active = False
            return [
                Alert(
                    kind,
                    severity,
                    float(times[-1]),
                    float(values[-1]),
                    limit,
                    message.format(value=values[-1], limit=limit),
                    cleared=True,
                )
            ]
        return []

    def _below(
        self,
        kind: AlertKind,
        severity: Severity,
        times: np.ndarray,
        values: np.ndarray,
        limit: float,
        message: str,
    ) -> list[Alert]:
        episode = self._episode(kind)
        if episode.active:
            return []
        finite = values[np.isfinite(values)]
        if finite.size and finite.min() < limit:
            episode.active = True
            return [
                Alert(
                    kind,
                    severity,
                    float(times[-1]),
                    float(finite.min()),
                    limit,
                    message.format(value=finite.min(), limit=limit),
                )
            ]
        return []


_QUIET_CHANNELS = (
    "skin_temp_left_c",
    "skin_temp_right_c",
    "interaction_force_left_n",
    "interaction_force_right_n",
    "battery_pct",
    *(f"shank_acc_{axis}_{side}_mps2" for side in ("left", "right") for axis in "xyz"),
)


@dataclass(frozen=True)
class QuietPlan:
    rows: tuple[tuple[str, bool], ...]
    """(channel, negated) per row: limited rows first, then the impact sides' x, y, z."""
    names: tuple[str, ...]
    """The rows' channels, in order."""
    signs: np.ndarray
    """(rows, 1): -1.0 for a negated row, 1.0 otherwise (both exact on any float)."""
    n_limited: int
    limits: np.ndarray
    """(n_limited, 1): a row above its limit might alert."""
    n_impact_sides: int
    impact_squared: float

    def rows_of(self, channels: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """The plan's rows of a batch's channels, (rows, n) float64."""
        return np.array([channels[name] for name in self.names], dtype=np.float64).reshape(
            len(self.names), n
        )


@functools.lru_cache(maxsize=64)
def _present(names: tuple[str, ...]) -> tuple[bool, ...]:
    """Which of the pre-check's channels a batch with these channels has: a device sends the
    same channels batch after batch, so this is worked out once per channel set."""
    return tuple(name in names for name in _QUIET_CHANNELS)


@functools.lru_cache(maxsize=256)
def _quiet_plan(
    rules: AlertRules, present: tuple[bool, ...], fall_active: bool, battery_active: bool
) -> QuietPlan:
    """Rows of :func:`quiet_batches` for the channels a batch has and the episodes
    already raised (a fall or low battery raised once is not raised again: not checked)."""
    has = dict(zip(_QUIET_CHANNELS, present, strict=True))
    limited: list[tuple[str, bool, float]] = []
    for side in ("left", "right"):
        if has[f"skin_temp_{side}_c"]:
            limited.append((f"skin_temp_{side}_c", False, rules.skin_temp_limit_c))
    for side in ("left", "right"):
        name = f"interaction_force_{side}_n"
        if has[name]:
            # |force| above the limit: the force or its negation is.
            limited.append((name, False, rules.interaction_force_limit_n))
            limited.append((name, True, rules.interaction_force_limit_n))
    if has["battery_pct"] and not battery_active:
        limited.append(("battery_pct", True, -rules.battery_low_pct))  # below: -pct above -limit
    impact: list[tuple[str, bool]] = []
    if not fall_active:
        for side in ("left", "right"):
            axes = [f"shank_acc_{axis}_{side}_mps2" for axis in "xyz"]
            if all(has[a] for a in axes):
                impact += [(a, False) for a in axes]
    limits = np.array([[limit] for _, _, limit in limited]).reshape(len(limited), 1)
    limits.setflags(write=False)
    # Compared squared and a little low: a batch this close to the limit takes the exact path,
    # so rounding in the square and the sum cannot hide an impact.
    impact_g = rules.fall_impact_g * STANDARD_GRAVITY_MPS2
    rows = tuple((name, negate) for name, negate, _ in limited) + tuple(impact)
    signs = np.array([[-1.0 if negate else 1.0] for _, negate in rows]).reshape(len(rows), 1)
    signs.setflags(write=False)
    return QuietPlan(
        rows=rows,
        names=tuple(name for name, _ in rows),
        signs=signs,
        n_limited=len(limited),
        limits=limits,
        n_impact_sides=len(impact) // 3,
        impact_squared=impact_g * impact_g * (1 - 1e-9),
    )


def quiet_batches(batches: Sequence[tuple[QuietPlan, np.ndarray]]) -> list[bool]:
    """For each (plan, its rows of a batch: (rows, samples)), whether no rule channel crosses its
    limit: True means the batch can neither start nor clear an alert (no episode is open, or its
    monitor gave no plan), so the rules' per-channel work is skipped; False sends it the exact
    path.

    Batches with the same plan and length are compared in one block: a live batch has ~10
    samples, so the cost is the NumPy calls, not the comparisons, and a turn of the event loop
    brings tens of batches. NaN compares False everywhere, as in the rules: a missing sample
    never alerts."""
    quiet = [True] * len(batches)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (plan, rows) in enumerate(batches):
        if plan.names:
            groups.setdefault((id(plan), rows.shape[1]), []).append(i)
    for (_, n), members in groups.items():
        plan = batches[members[0]][0]
        b = len(members)
        # A copy (the rows of every batch, one after another), so signing it in place is safe.
        block = np.concatenate([batches[i][1] for i in members]).reshape(b, len(plan.names), n)
        block *= plan.signs
        # Reduced over one flattened axis: NumPy's reductions over a tuple of axes cost more.
        loud = (block[:, : plan.n_limited] > plan.limits).reshape(b, -1).any(axis=1)
        if plan.n_impact_sides:
            acc = block[:, plan.n_limited :]
            acc *= acc
            squared = acc.reshape(b, plan.n_impact_sides, 3, n).sum(axis=2)
            loud |= (squared > plan.impact_squared).reshape(b, -1).any(axis=1)
        for i, is_loud in zip(members, cast(np.ndarray, loud).tolist(), strict=True):
            quiet[i] = not is_loud
    return quiet


def _max_of(
    channels: Mapping[str, np.ndarray], *names: str, absolute: bool = False
) -> np.ndarray | None:
    present = [np.asarray(channels[n], float) for n in names if n in channels]
    if not present:
        return None
    if absolute:
        present = [np.abs(p) for p in present]
    # fmax skips NaN where the other side has a value; all-missing stays NaN (never above).
    return functools.reduce(np.fmax, present)


def _acc_magnitude_g(channels: Mapping[str, np.ndarray]) -> np.ndarray | None:
    peaks = []
    for side in ("left", "right"):
        axes = [f"shank_acc_{axis}_{side}_mps2" for axis in ("x", "y", "z")]
        if all(a in channels for a in axes):
            x, y, z = (np.asarray(channels[a], float) for a in axes)
            peaks.append(np.sqrt(x * x + y * y + z * z) / STANDARD_GRAVITY_MPS2)
    if not peaks:
        return None
    return functools.reduce(np.fmax, peaks)
