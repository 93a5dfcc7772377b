"""Adherence to a home programme per week, from what the patient logged. Pure: no database.

The rule, for each week (Monday to Sunday) and each exercise of the programme:

* expected sessions = days per week x (days of the week within the programme and up to today) / 7,
  so a programme that starts on a Thursday expects 3/7 of a week in its first week;
* credited sessions = 1 for each day logged ``done``, 0.5 for ``partly``, 0 for ``not_done``
  (the newest log of a day counts), at most the expected sessions: doing more than asked does
  not make up for another exercise left out;
* the week's adherence = credited / expected over all exercises, in percent.

>>> from datetime import date
>>> items = [PlannedItem("a", 3, date(2026, 1, 5), date(2026, 2, 1))]
>>> logs = [Report("a", date(2026, 1, 5), "done", 2), Report("a", date(2026, 1, 7), "partly", 4)]
>>> [w.adherence_pct for w in weekly_adherence(items, logs, today=date(2026, 1, 11))]
[50.0]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

CREDIT = {"done": 1.0, "partly": 0.5, "not_done": 0.0}


@dataclass(frozen=True)
class PlannedItem:
    item_id: str
    days_per_week: int
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Report:
    """The newest log of one exercise on one day."""

    item_id: str
    performed_on: date
    status: str
    pain_0_10: int


@dataclass(frozen=True)
class WeekAdherence:
    week_starts_on: date
    expected_sessions: float
    credited_sessions: float
    adherence_pct: float
    mean_pain_0_10: float | None


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_adherence(
    items: Iterable[PlannedItem], reports: Iterable[Report], today: date
) -> list[WeekAdherence]:
    """One entry per week from the first start to today (or the last end), oldest first."""
    planned = list(items)
    if not planned:
        return []
    first = _monday(min(i.starts_on for i in planned))
    last = min(today, max(i.ends_on for i in planned))
    by_item_week: dict[tuple[str, date], float] = {}
    pains: dict[date, list[int]] = {}
    for report in reports:
        week = _monday(report.performed_on)
        key = (report.item_id, week)
        by_item_week[key] = by_item_week.get(key, 0.0) + CREDIT[report.status]
        pains.setdefault(week, []).append(report.pain_0_10)
    weeks: list[WeekAdherence] = []
    week = first
    while week <= last:
        expected = credited = 0.0
        for item in planned:
            start = max(week, item.starts_on)
            end = min(week + timedelta(days=6), item.ends_on, today)
            days = (end - start).days + 1
            if days <= 0:
                continue
            due = item.days_per_week * days / 7
            expected += due
            credited += min(by_item_week.get((item.item_id, week), 0.0), due)
        if expected > 0:
            week_pains = pains.get(week, [])
            weeks.append(
                WeekAdherence(
                    week_starts_on=week,
                    expected_sessions=round(expected, 2),
                    credited_sessions=round(credited, 2),
                    adherence_pct=round(100 * credited / expected, 1),
                    mean_pain_0_10=(
                        round(sum(week_pains) / len(week_pains), 1) if week_pains else None
                    ),
                )
            )
        week += timedelta(days=7)
    return weeks
