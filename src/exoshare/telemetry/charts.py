"""Server-side inline SVG charts of a session: joint-angle traces with events, gait-cycle curves.

Plain SVG keeps the page free of JavaScript and of any asset from outside the app, and the
charts print and scale with the page. Colours: left leg blue, right leg orange (colour-blind
safe pair); initial contacts are solid ticks, final contacts dashed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape

SIDE_COLOURS = {"left": "#1f6fb2", "right": "#d9730d"}
MAX_POINTS = 1200


def _scale(lo: float, hi: float, out_lo: float, out_hi: float) -> tuple[float, float]:
    span = hi - lo if hi > lo else 1.0
    k = (out_hi - out_lo) / span
    return k, out_lo - lo * k


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step) + 1)]


def _path(xs: np.ndarray, ys: np.ndarray) -> str:
    parts: list[str] = []
    pen_up = True
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        if math.isnan(y):
            pen_up = True
            continue
        parts.append(f"{'M' if pen_up else 'L'}{x:.1f},{y:.1f}")
        pen_up = False
    return "".join(parts)


def _frame(
    width: int,
    height: int,
    pad: tuple[int, int, int, int],
    xr: tuple[float, float],
    yr: tuple[float, float],
    x_label: str,
    y_label: str,
) -> tuple[list[str], tuple[float, float], tuple[float, float]]:
    left, right, top, bottom = pad
    kx, bx = _scale(xr[0], xr[1], left, width - right)
    ky, by = _scale(yr[0], yr[1], height - bottom, top)
    out = [
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="#fff" stroke="#d6dde4"/>'
    ]
    for t in _ticks(*yr):
        y = ky * t + by
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef1f4"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>'
        )
    for t in _ticks(*xr, count=8):
        x = kx * t + bx
        out.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{t:g}</text>'
        )
    out.append(
        f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{(top + height - bottom) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(top + height - bottom) / 2:.0f})">{escape(y_label)}</text>'
    )
    return out, (kx, bx), (ky, by)


def _svg(width: int, height: int, title: str, body: Sequence[str]) -> Markup:
    return Markup(
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="11" font-family="system-ui, sans-serif" fill="#44505c">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg></figure>"
    )


def trace_chart(
    time_s: np.ndarray,
    traces: dict[str, np.ndarray],
    events: dict[str, dict[str, list[float]]],
    title: str,
    y_label: str,
    x_label: str,
    width: int = 900,
    height: int = 240,
) -> Markup:
    """Signals against time (``traces`` keyed by side) with IC/FC events of each side marked."""
    if not traces or len(time_s) == 0:
        return Markup("")
    step = max(1, len(time_s) // MAX_POINTS)
    t = time_s[::step]
    stacked = np.concatenate([v[::step] for v in traces.values()])
    finite = stacked[np.isfinite(stacked)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    margin = 0.05 * (hi - lo or 1.0)
    body, (kx, bx), (ky, by) = _frame(
        width,
        height,
        (48, 12, 10, 34),
        (float(t[0]), float(t[-1])),
        (lo - margin, hi + margin),
        x_label,
        y_label,
    )
    top, bottom = 10, height - 34
    for side, kinds in events.items():
        colour = SIDE_COLOURS.get(side, "#666")
        for kind, dash in (("ic_s", ""), ("fc_s", ' stroke-dasharray="3 3"')):
            for moment in kinds.get(kind, []):
                if t[0] <= moment <= t[-1]:
                    x = kx * moment + bx
                    body.append(
                        f'<line class="event event-{kind[:2]}" x1="{x:.1f}" x2="{x:.1f}" '
                        f'y1="{top}" y2="{bottom}" stroke="{colour}" stroke-opacity="0.45"{dash}/>'
                    )
    for side, values in traces.items():
        colour = SIDE_COLOURS.get(side, "#333")
        d = _path(kx * t + bx, ky * values[::step] + by)
        body.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
    return _svg(width, height, title, body)


def cycle_chart(
    curves: dict[str, dict[str, list[float | None]]],
    title: str,
    y_label: str,
    x_label: str,
    width: int = 440,
    height: int = 240,
) -> Markup:
    """Mean ± SD of a joint angle over 0–100 % of the gait cycle, one band and line per side."""
    usable = {
        side: (
            np.array([np.nan if v is None else v for v in c["mean_deg"]], dtype=float),
            np.array([np.nan if v is None else v for v in c["sd_deg"]], dtype=float),
        )
        for side, c in curves.items()
        if c.get("mean_deg")
    }
    if not usable:
        return Markup("")
    lows = [np.nanmin(m - s) for m, s in usable.values() if np.isfinite(m).any()]
    highs = [np.nanmax(m + s) for m, s in usable.values() if np.isfinite(m).any()]
    if not lows:
        return Markup("")
    lo, hi = float(min(lows)), float(max(highs))
    margin = 0.05 * (hi - lo or 1.0)
    body, (kx, bx), (ky, by) = _frame(
        width, height, (48, 12, 10, 34), (0.0, 100.0), (lo - margin, hi + margin), x_label, y_label
    )
    for side, (mean, sd) in usable.items():
        colour = SIDE_COLOURS.get(side, "#333")
        x = kx * np.linspace(0, 100, len(mean)) + bx
        upper, lower = ky * (mean + sd) + by, ky * (mean - sd) + by
        ok = np.isfinite(upper) & np.isfinite(lower)
        band = [f"{a:.1f},{b:.1f}" for a, b in zip(x[ok], upper[ok], strict=True)]
        band += [f"{a:.1f},{b:.1f}" for a, b in zip(x[ok][::-1], lower[ok][::-1], strict=True)]
        body.append(
            f'<polygon class="sd-band" points="{" ".join(band)}" fill="{colour}" '
            'fill-opacity="0.18"/>'
        )
        body.append(
            f'<path class="mean" d="{_path(x, ky * mean + by)}" fill="none" stroke="{colour}" '
            'stroke-width="1.8"/>'
        )
    return _svg(width, height, title, body)
