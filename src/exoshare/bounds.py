"""The ranges exoshare accepts at its edges: integers SQL can hold, calendar dates, IANA zones.

Every value a client sends that reaches SQL or date arithmetic is checked here first, so that an
out-of-range value is a 422 naming the field instead of an overflow deep inside a query:

* integers bound for SQL stay within a signed 64-bit integer (SQLite's INTEGER and
  PostgreSQL's BIGINT; ``OFFSET``/``LIMIT`` take BIGINT on both);
* dates and times lie between :data:`EARLIEST_DATE` and :data:`LATEST_DATE`, so that a
  clinic-local day converted to UTC, a month end or a week later still is a date
  (``date.max + 1 day`` and 0001-01-01 in UTC+1 overflow);
* time zones are names of the IANA database that :mod:`zoneinfo` knows.

>>> check_time_zone("Europe/Madrid", "timezone")
'Europe/Madrid'
>>> check_time_zone("Mars/Olympus_Mons", "timezone")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
exoshare.errors.InvalidInput: timezone: 'Mars/Olympus_Mons' is not an IANA time zone; use ...
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator

from exoshare.errors import InvalidInput

SQL_BIGINT_MAX = 2**63 - 1
"""The largest integer SQLite and PostgreSQL (BIGINT, and OFFSET/LIMIT) hold."""

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)
"""exoshare's calendar: birth dates of living patients to bookings and leases far ahead."""


def _in_calendar(value: date) -> date:
    # Pydantic reports a ValueError raised here with the field's location.
    day = value
    if isinstance(value, datetime):
        day = (value.astimezone(UTC) if value.tzinfo else value).date()
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(
            f"{value.isoformat()} is outside the supported calendar "
            f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})"
        )
    return value


CalendarDate = Annotated[date, AfterValidator(_in_calendar)]
"""A date in a request, within exoshare's calendar."""

CalendarDateTime = Annotated[datetime, AfterValidator(_in_calendar)]
"""A date and time in a request, within exoshare's calendar (in UTC)."""


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str, field: str) -> str:
    """``name`` itself when the IANA database knows it, else :class:`InvalidInput`."""
    # A set look-up rather than ZoneInfo(name): that probes the file system with the name and
    # fails in five different ways (directories, absolute paths, '..', NUL, over-long names).
    if name not in _iana_zones():
        raise InvalidInput(
            f"{field}: {name!r} is not an IANA time zone; use a name like 'Europe/Madrid' "
            "or 'Africa/Nairobi'",
            field=field,
        )
    return name
