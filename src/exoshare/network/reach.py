"""Whether a caller's subtree holds every org unit that a network-wide fact reaches.

Some writes are not about one org unit but about countries (a regulatory approval opens the
markets of its jurisdiction; a recognition agreement opens its members' markets to each other)
or about the whole network (a device model is offered everywhere). A role alone does not entitle
a caller to them: an operator whose grant is on one country's subtree changes that country, not
the network. These checks compare the caller's subtrees with what the write reaches.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.network.models import OrgUnit


def covers_network(session: Session, principal: Principal, permission: Permission) -> bool:
    """Whether ``permission`` holds on every root of the network (and so on all of it)."""
    roots = session.scalars(select(OrgUnit.path).where(OrgUnit.parent_id.is_(None))).all()
    # With no network yet only a caller whose scope is everything (the system) covers it.
    if not roots:
        return principal.covers(permission, "/")
    return all(principal.covers(permission, path) for path in roots)


def uncovered_countries(
    session: Session, principal: Principal, permission: Permission, countries: Iterable[str]
) -> list[str]:
    """The countries (ISO codes, sorted) that lie outside the caller's ``permission`` subtrees.

    A country is covered when every org unit of the network in that country is. A country with
    no org unit yet is covered only by a caller who covers the whole network, since whoever adds
    it later adds it under a subtree the caller may not hold.
    """
    wanted = set(countries)
    if not wanted:
        return []
    rows = session.execute(
        select(OrgUnit.country_code, OrgUnit.path).where(OrgUnit.country_code.in_(wanted))
    ).all()
    present: set[str] = set()
    outside: set[str] = set()
    for code, path in rows:
        if code is None:  # excluded by the IN above; narrows the type
            continue
        present.add(code)
        if not principal.covers(permission, path):
            outside.add(code)
    if wanted - present and not covers_network(session, principal, permission):
        outside |= wanted - present
    return sorted(outside)
