"""Ground truth of a simulated recording: every gait event and labelled interval, stored as JSON.

Event sample indices are the nearest sample to the exact event time
(``round(time_s * sampling_rate_hz)``); times are relative to the first sample.

>>> gt = GroundTruth(100.0, [GaitEvent("left", "IC", 1.004, 100)], [])
>>> gt.ic_samples("left").tolist()
[100]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

EventKind = Literal["IC", "FC"]
IntervalKind = Literal[
    "pause", "gait_initiation", "gait_termination", "turn", "fall", "sensor_dropout", "overheating"
]
FAULT_KINDS: frozenset[str] = frozenset({"fall", "sensor_dropout", "overheating"})

GROUND_TRUTH_FORMAT = "exoshare.ground_truth/1"


@dataclass(frozen=True)
class GaitEvent:
    """One initial contact (IC, heel strike) or final contact (FC, toe-off) of one leg."""

    leg: str
    kind: EventKind
    time_s: float
    sample: int


@dataclass(frozen=True)
class LabelledInterval:
    """A stretch of the recording with a known state: ``[start_s, end_s)``.

    ``channels`` lists the affected channels of a sensor dropout; ``side`` the leg of an
    overheating cuff; ``detail`` anything else worth checking (e.g. the impact time of a fall).
    """

    kind: IntervalKind
    start_s: float
    end_s: float
    start_sample: int
    end_sample: int
    side: str | None = None
    channels: tuple[str, ...] = ()
    detail: dict[str, float] = field(default_factory=dict)

    @property
    def is_fault(self) -> bool:
        return self.kind in FAULT_KINDS


@dataclass
class GroundTruth:
    """All events and intervals the simulator produced, in time order."""

    sampling_rate_hz: float
    events: list[GaitEvent]
    intervals: list[LabelledInterval]
    meta: dict[str, Any] = field(default_factory=dict)

    def _events(self, leg: str, kind: str) -> list[GaitEvent]:
        return [e for e in self.events if e.leg == leg and e.kind == kind]

    def ic_times_s(self, leg: str) -> np.ndarray:
        return np.array([e.time_s for e in self._events(leg, "IC")])

    def fc_times_s(self, leg: str) -> np.ndarray:
        return np.array([e.time_s for e in self._events(leg, "FC")])

    def ic_samples(self, leg: str) -> np.ndarray:
        return np.array([e.sample for e in self._events(leg, "IC")], dtype=np.int64)

    def fc_samples(self, leg: str) -> np.ndarray:
        return np.array([e.sample for e in self._events(leg, "FC")], dtype=np.int64)

    def intervals_of(self, kind: str) -> list[LabelledInterval]:
        return [i for i in self.intervals if i.kind == kind]

    def fault_mask(self, n_samples: int, channel: str | None = None) -> np.ndarray:
        """Boolean mask of samples inside injected faults (for ``channel`` only, if given).

        A dropout counts only for its own channels; a fall and overheating count for every one.
        """
        mask = np.zeros(n_samples, dtype=bool)
        for iv in self.intervals:
            if not iv.is_fault:
                continue
            if iv.kind == "sensor_dropout" and channel is not None and channel not in iv.channels:
                continue
            mask[max(iv.start_sample, 0) : min(iv.end_sample, n_samples)] = True
        return mask

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": GROUND_TRUTH_FORMAT,
            "sampling_rate_hz": self.sampling_rate_hz,
            "meta": self.meta,
            "events": [asdict(e) for e in self.events],
            "intervals": [{**asdict(iv), "channels": list(iv.channels)} for iv in self.intervals],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundTruth:
        if data.get("format") != GROUND_TRUTH_FORMAT:
            raise ValueError(
                f"not an exoshare ground-truth file: format is {data.get('format')!r}, "
                f"expected {GROUND_TRUTH_FORMAT!r}"
            )
        return cls(
            sampling_rate_hz=float(data["sampling_rate_hz"]),
            events=[GaitEvent(**e) for e in data["events"]],
            intervals=[
                LabelledInterval(**{**iv, "channels": tuple(iv.get("channels", ()))})
                for iv in data["intervals"]
            ],
            meta=dict(data.get("meta", {})),
        )


def ground_truth_path_for(recording_path: str | Path) -> Path:
    """Where a recording's ground truth lives: ``session.parquet`` -> ``session.truth.json``."""
    path = Path(recording_path)
    return path.with_name(path.name.split(".")[0] + ".truth.json")


def write_ground_truth(ground_truth: GroundTruth, path: str | Path) -> Path:
    """Write ``ground_truth`` as JSON to ``path`` and return the path."""
    path = Path(path)
    path.write_text(json.dumps(ground_truth.to_dict(), indent=1))
    return path


def read_ground_truth(path: str | Path) -> GroundTruth:
    """Read a file written by :func:`write_ground_truth`."""
    return GroundTruth.from_dict(json.loads(Path(path).read_text()))
