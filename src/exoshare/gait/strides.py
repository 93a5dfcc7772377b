"""Stride segmentation (IC to next IC of one leg) and per-stride parameters of both legs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from exoshare.gait.events import LegEvents

STRIDE_COLUMNS = (
    "side",
    "start_s",
    "end_s",
    "stride_time_s",
    "fc_s",
    "stance_time_s",
    "swing_time_s",
    "step_time_s",
    "double_support_time_s",
    "stride_length_m",
    "speed_mps",
)


@dataclass(frozen=True)
class StrideTable:
    """Per-stride parameters, one row per stride, column-wise arrays (seconds; NaN where undefined).

    A stride runs from an initial contact (``start_s``) to the next initial contact of the same leg
    (``end_s``). ``fc_s`` is the final contact inside it; stance = FC - IC, swing = next IC - FC.
    ``step_time_s`` is the time from the contralateral IC before ``start_s`` to ``start_s``
    (the step ending at this IC). ``double_support_time_s`` is initial plus terminal double support
    inside the stride: (contralateral FC - IC) + (ipsilateral FC - contralateral IC), following
    Perry & Burnfield 2010 (*Gait Analysis*, 2nd ed., ch. 1). ``side`` is 0 for left, 1 for right.
    ``stride_length_m`` (m) and ``speed_mps`` (m/s) are NaN here and filled by
    :func:`exoshare.gait.analysis.analyse` when a spatial model applies.
    """

    side: np.ndarray
    start_s: np.ndarray
    end_s: np.ndarray
    stride_time_s: np.ndarray
    fc_s: np.ndarray
    stance_time_s: np.ndarray
    swing_time_s: np.ndarray
    step_time_s: np.ndarray
    double_support_time_s: np.ndarray
    stride_length_m: np.ndarray
    speed_mps: np.ndarray

    @property
    def n_strides(self) -> int:
        return int(self.start_s.size)

    def for_side(self, side: str) -> StrideTable:
        """The rows of one leg (``"left"`` or ``"right"``)."""
        keep = self.side == (0 if side == "left" else 1)
        return StrideTable(**{name: getattr(self, name)[keep] for name in STRIDE_COLUMNS})

    def to_records(self, decimals: int = 3) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts: side as a word, times rounded, NaN as ``None``."""
        cols = {name: getattr(self, name) for name in STRIDE_COLUMNS if name != "side"}
        records = []
        for i in range(self.n_strides):
            row: dict[str, Any] = {"side": "left" if self.side[i] == 0 else "right"}
            for name, values in cols.items():
                v = float(values[i])
                row[name] = round(v, decimals) if np.isfinite(v) else None
            records.append(row)
        return records


def _last_before(values: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    j = np.searchsorted(values, anchors, side="left") - 1
    return (
        np.where(j >= 0, values[np.clip(j, 0, max(values.size - 1, 0))], np.nan)
        if values.size
        else np.full(anchors.size, np.nan)
    )


def _first_after(values: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return np.full(anchors.size, np.nan)
    j = np.searchsorted(values, anchors, side="right")
    return np.where(j < values.size, values[np.clip(j, 0, values.size - 1)], np.nan)


class StrideSegmentation:
    """Build the :class:`StrideTable` of both legs from their :class:`LegEvents`.

    Consecutive ICs of one leg form a stride if they are at most ``max_stride_time_s`` apart
    (default 4 s: slow assisted walking reaches 3-4 s strides; a longer gap is a pause, not a
    stride). Parameters that need the other leg (step, double support) are NaN when it has no
    events, e.g. single-sensor recordings. Vectorised with ``searchsorted``.

    >>> left = LegEvents("left", np.array([0.0, 1.0, 2.0]), np.array([0.6, 1.6]), np.empty(0),
    ...                  np.empty(0), "test")
    >>> right = LegEvents("right", np.array([0.5, 1.5, 2.5]), np.array([0.1, 1.1, 2.1]),
    ...                   np.empty(0), np.empty(0), "test")
    >>> table = StrideSegmentation().segment(left, right).stride_table_
    >>> table.for_side("left").stance_time_s, table.for_side("left").double_support_time_s
    (array([0.6, 0.6]), array([0.2, 0.2]))
    """

    def __init__(self, *, max_stride_time_s: float = 4.0) -> None:
        self.max_stride_time_s = max_stride_time_s

    def segment(self, left: LegEvents | None, right: LegEvents | None) -> Self:
        """Segment strides of the legs given (either may be ``None``); sets ``stride_table_``."""
        parts = []
        for code, own, other in ((0, left, right), (1, right, left)):
            if own is not None:
                parts.append(self._one_leg(code, own, other))
        if not parts:
            empty = np.empty(0)
            self.stride_table_ = StrideTable(*(empty.copy() for _ in STRIDE_COLUMNS))
            return self
        merged = {name: np.concatenate([p[name] for p in parts]) for name in STRIDE_COLUMNS}
        order = np.argsort(merged["start_s"], kind="stable")
        self.stride_table_ = StrideTable(**{k: v[order] for k, v in merged.items()})
        return self

    def _one_leg(self, code: int, own: LegEvents, other: LegEvents | None) -> dict[str, np.ndarray]:
        ic = np.sort(own.ic_s)
        fc = np.sort(own.fc_s)
        start, end = ic[:-1], ic[1:]
        keep = (end - start) <= self.max_stride_time_s
        start, end = start[keep], end[keep]
        # The FC of a stride is the first FC after its IC, and it must come before the stride ends.
        fc_in = _first_after(fc, start)
        fc_in = np.where(fc_in < end, fc_in, np.nan)
        stance = fc_in - start
        swing = end - fc_in
        if other is not None and other.ic_s.size:
            o_ic, o_fc = np.sort(other.ic_s), np.sort(other.fc_s)
            prev_other_ic = _last_before(o_ic, start)
            step = start - prev_other_ic
            # Contralateral IC inside the stride must precede the ipsilateral FC for the stride's
            # terminal double support to exist.
            other_ic_in = _first_after(o_ic, start)
            other_ic_in = np.where(other_ic_in < end, other_ic_in, np.nan)
            other_fc_in = _first_after(o_fc, start)
            initial_ds = np.where(other_fc_in < fc_in, other_fc_in - start, np.nan)
            terminal_ds = np.where(other_ic_in < fc_in, fc_in - other_ic_in, np.nan)
            double_support = initial_ds + terminal_ds
            step = np.where(step <= self.max_stride_time_s / 2, step, np.nan)
        else:
            step = np.full(start.size, np.nan)
            double_support = np.full(start.size, np.nan)
        return {
            "side": np.full(start.size, code, dtype=np.int8),
            "start_s": start,
            "end_s": end,
            "stride_time_s": end - start,
            "fc_s": fc_in,
            "stance_time_s": stance,
            "swing_time_s": swing,
            "step_time_s": step,
            "double_support_time_s": double_support,
            "stride_length_m": np.full(start.size, np.nan),
            "speed_mps": np.full(start.size, np.nan),
        }
