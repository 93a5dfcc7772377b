"""Public holidays per country, from the ``holidays`` package: days a clinic does not open.

>>> sorted(d.isoformat() for d in public_holidays("ES", date(2026, 12, 21), date(2026, 12, 27)))
['2026-12-25']
>>> public_holidays("??", date(2026, 12, 21), date(2026, 12, 27))  # a code it does not know
frozenset()
"""

from __future__ import annotations

from datetime import date

import holidays


def public_holidays(
    country: str, first: date, last: date, subdivision: str | None = None
) -> frozenset[date]:
    """The nationwide public holidays of ``country`` (ISO 3166-1 alpha-2) from ``first`` to
    ``last`` inclusive, plus those of ``subdivision`` when given; none for an unknown code.

    Regional holidays need the clinic's subdivision, which exoshare does not record yet, so
    only the nationwide ones close a clinic (a clinic closed on a regional day records it as
    closed in its opening hours or as staff leave).
    """
    try:
        calendar = holidays.country_holidays(
            country.upper(), subdiv=subdivision, years=range(first.year, last.year + 1)
        )
    except NotImplementedError:
        return frozenset()
    return frozenset(day for day in calendar if first <= day <= last)
