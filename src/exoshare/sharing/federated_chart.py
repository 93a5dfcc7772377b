"""The inline SVG chart of a federated run: test error per round, overall and per clinic, with
the central model's error as a reference line."""

from __future__ import annotations

from markupsafe import Markup, escape

# The session charts' frame, as outcomes' charts use it: every chart of the app alike.
from exoshare.telemetry.charts import _frame, _svg

OVERALL = "#0b6e70"
CENTRAL = "#b5462f"
CLINICS = ("#1f6fb2", "#7a5195", "#ef8f00", "#4e7d2f", "#7a869a", "#c0507a")


def rounds_chart(
    overall: list[tuple[int, float]],
    clinics: dict[str, list[tuple[int, float]]],
    central: float | None,
    labels: dict[str, str],
    width: int = 640,
    height: int = 260,
) -> Markup:
    """``overall`` and each clinic's (round, MAE) as lines; ``central`` dashed. ``labels``
    holds the title, axis names and the legend's words for overall and central."""
    if not overall:
        return Markup("")
    values = [v for _, v in overall] + [v for s in clinics.values() for _, v in s]
    values += [central] if central is not None else []
    top = max(values) * 1.1
    last = max(r for r, _ in overall)
    body, (kx, bx), (ky, by) = _frame(
        width, height, (48, 150, 10, 34), (0.0, float(last)), (0.0, top), labels["x"], labels["y"]
    )
    legend: list[tuple[str, str, bool]] = []

    def line(points: list[tuple[int, float]], colour: str, thick: float) -> None:
        path = "".join(
            f"{'M' if i == 0 else 'L'}{kx * r + bx:.1f},{ky * v + by:.1f}"
            for i, (r, v) in enumerate(points)
        )
        body.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{thick}"/>')

    for index, (name, points) in enumerate(clinics.items()):
        colour = CLINICS[index % len(CLINICS)]
        line(points, colour, 1.2)
        legend.append((name, colour, False))
    line(overall, OVERALL, 2.4)
    legend.append((labels["overall"], OVERALL, False))
    if central is not None:
        y = ky * central + by
        body.append(
            f'<line x1="{kx * 0 + bx:.1f}" x2="{kx * last + bx:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{CENTRAL}" stroke-width="1.6" stroke-dasharray="6 4"/>'
        )
        legend.append((labels["central"], CENTRAL, True))
    x0 = width - 140
    for i, (name, colour, dashed) in enumerate(legend):
        y = 20 + 16 * i
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        body.append(
            f'<line x1="{x0}" x2="{x0 + 18}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{x0 + 24}" y="{y}">{escape(name[:20])}</text>'
        )
    return _svg(width, height, labels["title"], body)
