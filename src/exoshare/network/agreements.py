"""Agreements between partners and the remote cover a tele-supervision agreement gives.

An active tele-supervision agreement is what lets the provider clinic's therapists follow and
adjust sessions of the recipient clinic: activating it grants each named therapist the therapist
role on the recipient clinic (``auth.grants.grant_by_rule``), and ending it, by hand or when its
end date has passed (:func:`end_lapsed`), revokes those grants. No other path grants that
cover, so the cover never outlives the agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session, selectinload

from exoshare.auth import grants as auth_grants
from exoshare.auth import service as auth_service
from exoshare.auth.schemas import Role
from exoshare.auth.scope import Permission, Principal
from exoshare.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from exoshare.network.models import Agreement, AgreementCover, OrgUnit, Partner
from exoshare.network.partners import may_edit
from exoshare.network.reach import covers_network
from exoshare.network.schemas import AgreementKind, AgreementStatus, OrgUnitKind

LAPSED_REASON = "its end date has passed"


@dataclass(frozen=True)
class Ended:
    """An agreement that ended, and the users whose cover ended with it (their live views are
    closed once the end commits)."""

    agreement: Agreement
    user_ids: list[str]


def _rule(agreement: Agreement) -> str:
    return f"agreement:{agreement.id}"


def _visible(session: Session, principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the agreements the caller may read. A party's people see it: those who see
    the org unit a party runs, and the users of a party organisation; network-wide readers see
    all."""
    if covers_network(session, principal, Permission.network_read):
        return Agreement.id.is_not(None)
    in_scope = select(Partner.id).where(
        Partner.org_unit_id.in_(
            select(OrgUnit.id).where(principal.org_filter(Permission.network_read, OrgUnit.path))
        )
    )
    own = Partner.id == principal.partner_id if principal.partner_id else false()
    parties = in_scope.union(select(Partner.id).where(own))
    return or_(Agreement.provider_id.in_(parties), Agreement.recipient_id.in_(parties))


def get_agreement(session: Session, principal: Principal, agreement_id: str) -> Agreement:
    agreement = session.scalar(
        select(Agreement)
        .where(Agreement.id == agreement_id, _visible(session, principal))
        .options(selectinload(Agreement.covers))
    )
    if agreement is None:
        raise NotFound(f"agreement {agreement_id} not found")
    return agreement


def list_agreements(
    session: Session,
    principal: Principal,
    status: AgreementStatus | None = None,
    partner_id: str | None = None,
) -> list[Agreement]:
    """The agreements the caller may read, newest start first."""
    stmt = select(Agreement).where(_visible(session, principal))
    if status is not None:
        stmt = stmt.where(Agreement.status == status)
    if partner_id is not None:
        stmt = stmt.where(
            or_(Agreement.provider_id == partner_id, Agreement.recipient_id == partner_id)
        )
    stmt = stmt.options(
        selectinload(Agreement.covers),
        selectinload(Agreement.provider),
        selectinload(Agreement.recipient),
    )
    return list(session.scalars(stmt.order_by(Agreement.starts_on.desc(), Agreement.title)))


def _clinic_of(session: Session, partner: Partner, role: str) -> OrgUnit:
    unit = session.get(OrgUnit, partner.org_unit_id) if partner.org_unit_id else None
    if unit is None or unit.kind is not OrgUnitKind.clinic:
        raise InvalidInput(
            f"{role}_id: a tele-supervision agreement is between two clinics, and "
            f"{partner.name} runs none in the network",
            field=f"{role}_id",
        )
    return unit


def _party(session: Session, partner_id: str, role: str) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise InvalidInput(f"{role}_id: partner {partner_id} does not exist", field=f"{role}_id")
    return partner


def _require_both_sides(session: Session, principal: Principal, agreement: Agreement) -> None:
    """Making or activating an agreement speaks for both parties."""
    for party in (agreement.provider, agreement.recipient):
        if not may_edit(session, principal, party):
            raise PermissionDenied(f"you may not sign agreements for {party.name}")


def create_agreement(
    session: Session,
    principal: Principal,
    kind: AgreementKind,
    title: str,
    provider_id: str,
    recipient_id: str,
    starts_on: date,
    ends_on: date | None = None,
    terms: str = "",
    cover_user_ids: Sequence[str] = (),
) -> Agreement:
    """A draft agreement; it takes effect when activated."""
    provider = _party(session, provider_id, "provider")
    recipient = _party(session, recipient_id, "recipient")
    if provider.id == recipient.id:
        raise InvalidInput.worded(
            N_("recipient_id: a partner cannot agree with itself"), also={"field": "recipient_id"}
        )
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput(
            f"ends_on ({ends_on.isoformat()}) is before starts_on ({starts_on.isoformat()})",
            field="ends_on",
        )
    covers = list(dict.fromkeys(cover_user_ids))
    if kind is AgreementKind.tele_supervision:
        source = _clinic_of(session, provider, "provider")
        _clinic_of(session, recipient, "recipient")
        if not covers:
            raise InvalidInput.worded(
                N_("cover_user_ids: name the provider's therapists who cover the other clinic"),
                also={"field": "cover_user_ids"},
            )
        therapists = {user for user, _ in auth_service.therapist_grants(session, [source.id])}
        strangers = [u for u in covers if u not in therapists]
        if strangers:
            raise InvalidInput(
                f"cover_user_ids: {', '.join(strangers)} is not a therapist of {provider.name}",
                field="cover_user_ids",
            )
    elif covers:
        raise InvalidInput.worded(
            N_("cover_user_ids: only a tele-supervision agreement names covering therapists"),
            also={"field": "cover_user_ids"},
        )
    agreement = Agreement(
        kind=kind,
        title=title,
        terms=terms,
        provider_id=provider.id,
        recipient_id=recipient.id,
        starts_on=starts_on,
        ends_on=ends_on,
        status=AgreementStatus.draft,
        created_by_id=principal.user_ref,
        covers=[AgreementCover(user_id=u) for u in covers],
    )
    agreement.provider, agreement.recipient = provider, recipient
    _require_both_sides(session, principal, agreement)
    session.add(agreement)
    session.flush()
    return agreement


def activate(
    session: Session, principal: Principal, agreement_id: str, today: date | None = None
) -> Agreement:
    """Put a draft in force; a tele-supervision agreement grants its cover now."""
    today = today or datetime.now(UTC).date()
    agreement = get_agreement(session, principal, agreement_id)
    _require_both_sides(session, principal, agreement)
    if agreement.status is not AgreementStatus.draft:
        raise Conflict(
            f"the agreement is {agreement.status.value}; only a draft can be activated",
            field="status",
        )
    if agreement.starts_on > today:
        raise Conflict(
            f"the agreement starts on {agreement.starts_on.isoformat()}; activate it then",
            field="starts_on",
        )
    if agreement.ends_on is not None and agreement.ends_on < today:
        raise Conflict(
            f"the agreement ended on {agreement.ends_on.isoformat()}; it cannot start now",
            field="ends_on",
        )
    agreement.status = AgreementStatus.active
    if agreement.kind is AgreementKind.tele_supervision:
        clinic_id = agreement.recipient.org_unit_id
        assert clinic_id is not None  # checked when the agreement was made
        for cover in agreement.covers:
            grant = auth_grants.grant_by_rule(
                session, principal, cover.user_id, Role.therapist, clinic_id, _rule(agreement)
            )
            cover.grant_id = grant.id
    return agreement


def _close(
    session: Session,
    principal: Principal,
    agreement: Agreement,
    status: AgreementStatus,
    reason: str,
) -> Ended:
    agreement.status = status
    agreement.end_reason = reason
    agreement.ended_at = datetime.now(UTC)
    grant_ids = [c.grant_id for c in agreement.covers if c.grant_id is not None]
    users = auth_grants.end_grants_by_rule(session, principal, grant_ids, _rule(agreement))
    return Ended(agreement, users)


def end_agreement(
    session: Session,
    principal: Principal,
    agreement_id: str,
    reason: str,
    status: AgreementStatus = AgreementStatus.ended,
) -> Ended:
    """End (as agreed) or terminate (early) an agreement; either party may. Its cover ends."""
    if status not in (AgreementStatus.ended, AgreementStatus.terminated):
        raise InvalidInput.worded(
            N_("status: an agreement ends as ended or terminated"), also={"field": "status"}
        )
    if not reason.strip():
        raise InvalidInput.worded(
            N_("reason: say why the agreement ends"), also={"field": "reason"}
        )
    agreement = get_agreement(session, principal, agreement_id)
    if not any(may_edit(session, principal, p) for p in (agreement.provider, agreement.recipient)):
        raise PermissionDenied.worded(N_("only a party to the agreement may end it"))
    if agreement.status not in (AgreementStatus.draft, AgreementStatus.active):
        raise Conflict(f"the agreement is already {agreement.status.value}", field="status")
    return _close(session, principal, agreement, status, reason.strip())


def end_lapsed(session: Session, principal: Principal, today: date | None = None) -> list[Ended]:
    """End every active agreement whose end date is before ``today`` (and so its cover)."""
    today = today or datetime.now(UTC).date()
    lapsed = session.scalars(
        select(Agreement)
        .where(
            Agreement.status == AgreementStatus.active,
            Agreement.ends_on.is_not(None),
            Agreement.ends_on < today,
        )
        .options(selectinload(Agreement.covers))
    ).all()
    return [
        _close(session, principal, agreement, AgreementStatus.ended, LAPSED_REASON)
        for agreement in lapsed
    ]


def therapists_of(session: Session, partner: Partner) -> list[str]:
    """User ids of the therapists of the clinic a partner runs (who may be named as cover)."""
    if partner.org_unit_id is None:
        return []
    return list(
        dict.fromkeys(u for u, _ in auth_service.therapist_grants(session, [partner.org_unit_id]))
    )


def cover_names(session: Session, agreement: Agreement) -> dict[str, str]:
    """The covering therapists' names, by user id (the agreement's readers may see them)."""
    return auth_service.display_names(session, [c.user_id for c in agreement.covers])
