"""Inline SVG charts of outcomes: a measure's timeline with its MDC/MCID bands, the prediction fan.

Drawn on the server in the same plain-SVG frame as the session charts (`telemetry.charts`): no
script, nothing loaded from outside the app, and they print with the page.
"""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

# The frame and figure helpers are the session charts' own; sharing them keeps every chart of
# the app alike (axes, ticks, captions) rather than drawing a second style here.
from exoshare.telemetry.charts import _frame, _svg

MEASURED = "#1f6fb2"
DEVICE = "#7a869a"
FAN = "#0b6e70"
BAND_MDC = "#c9d3de"
BAND_MCID = "#1c7c3a"


def _circle(x: float, y: float, colour: str, hollow: bool, label: str) -> str:
    fill = "#fff" if hollow else colour
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="{colour}" '
        f'stroke-width="1.6"><title>{escape(label)}</title></circle>'
    )


def timeline_chart(
    points: list[tuple[date, float, bool]],
    title: str,
    y_label: str,
    x_label: str,
    y_range: tuple[float, float],
    first_value: float,
    mdc: float | None,
    mcid: float | None,
    higher_is_better: bool,
    width: int = 440,
    height: int = 220,
) -> Markup:
    """Values over days since the first one; the grey band is the first value ± MDC (within
    measurement error), the green line the first value plus the MCID. ``points`` are
    (day, value, device-derived)."""
    if not points:
        return Markup("")
    start = points[0][0]
    days = [(d - start).days for d, _, _ in points]
    values = [v for _, v, _ in points]
    extra = [first_value + (mcid if higher_is_better else -mcid)] if mcid is not None else []
    lo = min([*values, *extra, y_range[0] if len(values) == 1 else min(values)])
    hi = max([*values, *extra])
    margin = 0.1 * (hi - lo or 1.0)
    lo, hi = max(y_range[0], lo - margin), min(y_range[1], hi + margin)
    if hi <= lo:
        hi = lo + 1.0
    body, (kx, bx), (ky, by) = _frame(
        width, height, (48, 12, 10, 34), (0.0, float(max(days[-1], 1))), (lo, hi), x_label, y_label
    )
    left, right = 48, width - 12
    if mdc is not None:
        top = ky * min(first_value + mdc, hi) + by
        bottom = ky * max(first_value - mdc, lo) + by
        body.append(
            f'<rect class="mdc-band" x="{left}" y="{top:.1f}" width="{right - left}" '
            f'height="{max(bottom - top, 0):.1f}" fill="{BAND_MDC}" fill-opacity="0.45"/>'
        )
    if mcid is not None:
        level = first_value + (mcid if higher_is_better else -mcid)
        if lo <= level <= hi:
            y = ky * level + by
            body.append(
                f'<line class="mcid-line" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{BAND_MCID}" stroke-dasharray="5 3" stroke-width="1.4"/>'
            )
    path = "".join(
        f"{'M' if i == 0 else 'L'}{kx * d + bx:.1f},{ky * v + by:.1f}"
        for i, (d, v) in enumerate(zip(days, values, strict=True))
        if not points[i][2]
    )
    if path:
        body.append(f'<path d="{path}" fill="none" stroke="{MEASURED}" stroke-width="1.4"/>')
    for (day, value, device), offset in zip(points, days, strict=True):
        body.append(
            _circle(
                kx * offset + bx,
                ky * value + by,
                DEVICE if device else MEASURED,
                device,
                f"{day.isoformat()}: {value:g}",
            )
        )
    return _svg(width, height, title, body)


def fan_chart(
    fan: list[tuple[float, float, float, float]],
    observed: list[tuple[float, float]],
    title: str,
    y_label: str,
    x_label: str,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """The predicted gait speed as a fan: (day, low, median, high) with the 80 % interval
    shaded, and the measured speeds as dots; the x axis in weeks after onset."""
    if not fan and not observed:
        return Markup("")
    last_week = 26.0
    top = max([h for _, _, _, h in fan] + [v for _, v in observed] + [0.5]) * 1.1
    body, (kx, bx), (ky, by) = _frame(
        width, height, (48, 12, 10, 34), (0.0, last_week), (0.0, top), x_label, y_label
    )
    if fan:
        upper = [f"{kx * d / 7 + bx:.1f},{ky * h + by:.1f}" for d, _, _, h in fan]
        lower = [f"{kx * d / 7 + bx:.1f},{ky * lo + by:.1f}" for d, lo, _, _ in reversed(fan)]
        body.append(
            f'<polygon class="fan" points="{" ".join(upper + lower)}" fill="{FAN}" '
            'fill-opacity="0.2"/>'
        )
        median = "".join(
            f"{'M' if i == 0 else 'L'}{kx * d / 7 + bx:.1f},{ky * m + by:.1f}"
            for i, (d, _, m, _) in enumerate(fan)
        )
        body.append(
            f'<path class="median" d="{median}" fill="none" stroke="{FAN}" stroke-width="2"/>'
        )
    for day, value in observed:
        body.append(
            _circle(kx * day / 7 + bx, ky * value + by, MEASURED, False, f"{day / 7:.1f}: {value}")
        )
    return _svg(width, height, title, body)
