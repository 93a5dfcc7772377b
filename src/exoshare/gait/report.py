"""Renderings of a SessionSummary for people and machines: a ``rich`` table and JSON."""

from __future__ import annotations

import json
import math

from rich.table import Table

from exoshare.gait.analysis import SessionSummary


def _fmt(value: float, decimals: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{decimals}f}"


def summary_table(summary: SessionSummary, title: str = "Gait session") -> Table:
    """A two-column-per-side ``rich.table.Table`` of the main session metrics (units in labels)."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("left", justify="right")
    table.add_column("right", justify="right")
    table.add_column("both / session", justify="right")
    table.add_row("duration (s)", "", "", _fmt(summary.duration_s, 1))
    table.add_row(
        "event source",
        summary.event_source.get("left", "–"),
        summary.event_source.get("right", "–"),
        "",
    )
    table.add_row(
        "strides",
        str(summary.stride_count.get("left", 0)),
        str(summary.stride_count.get("right", 0)),
        "",
    )
    table.add_row("steps", "", "", str(summary.step_count))
    table.add_row("cadence (steps/min)", "", "", _fmt(summary.cadence_steps_per_min, 1))
    for name, per_side in summary.parameters.items():
        cells = [
            f"{_fmt(d.mean, 3)} (CV {_fmt(d.cv_pct, 1)} %)" if d.n else "–"
            for d in (per_side["left"], per_side["right"], per_side["both"])
        ]
        table.add_row(name, *cells)
    for joint, rom in summary.rom_deg.items():
        table.add_row(
            f"{joint} ROM (deg)",
            _fmt(rom.get("left", math.nan), 1),
            _fmt(rom.get("right", math.nan), 1),
            "",
        )
    for name, sym in summary.symmetry.items():
        table.add_row(
            f"symmetry {name}",
            "",
            "",
            f"SI {_fmt(sym['si_pct'], 1)} %, ratio {_fmt(sym['ratio'], 3)}",
        )
    table.add_row("distance (m)", "", "", _fmt(summary.distance_m, 1))
    table.add_row("speed (m/s)", "", "", _fmt(summary.speed_mps, 2))
    for level, seconds in summary.assistance_time_s.items():
        table.add_row(f"assistance {level} % (s)", "", "", _fmt(seconds, 1))
    table.add_row("safety flags", "", "", str(len(summary.safety_flags)))
    for flag in summary.safety_flags:
        table.add_row(
            f"  {flag.kind}",
            flag.channel,
            f"{flag.start_s:.1f}-{flag.end_s:.1f} s",
            f"peak {flag.peak:.1f} > {flag.limit:.1f}",
        )
    return table


def summary_json(
    summary: SessionSummary,
    *,
    indent: int | None = 2,
    include_strides: bool = True,
    include_curves: bool = True,
) -> str:
    """The summary as a JSON string (see :meth:`SessionSummary.to_dict`); strict JSON, no NaN."""
    return json.dumps(
        summary.to_dict(include_strides=include_strides, include_curves=include_curves),
        indent=indent,
        allow_nan=False,
    )
