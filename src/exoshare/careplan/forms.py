"""Reading the care plan's HTML forms into the API's request shapes, naming a bad field."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from exoshare.errors import InvalidInput

MAX_FORM_WEEKS = 52
T = TypeVar("T", bound=BaseModel)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def parsed(schema: type[T], values: dict[str, Any]) -> T:
    """The form's values as ``schema``, or InvalidInput naming the first bad field."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None


def plan_values(form: FormData, settings: list[str]) -> dict[str, Any]:
    """The plan fields of the plan form: dose, device, dates, one goal per line, and the
    progression grid (an input ``w<week>_<setting>`` per week and setting; blank: not planned)."""
    progression: dict[int, dict[str, str]] = {}
    for week in range(1, MAX_FORM_WEEKS + 1):
        for setting in settings:
            value = text(form, f"w{week}_{setting}")
            if value:
                progression.setdefault(week, {})[setting] = value
    return {
        "sessions_per_week": text(form, "sessions_per_week"),
        "minutes_per_session": text(form, "minutes_per_session"),
        "device_model_id": text(form, "device_model_id"),
        "device_unit_id": text(form, "device_unit_id") or None,
        "starts_on": text(form, "starts_on"),
        "ends_on": text(form, "ends_on"),
        "goals": [line for line in text(form, "goals").splitlines() if line.strip()],
        "progression": [{"week": w, "settings": s} for w, s in sorted(progression.items())],
    }


def course_weeks(starts_on: date, ends_on: date) -> int:
    return min(MAX_FORM_WEEKS, max(1, (ends_on - starts_on).days // 7 + 1))
