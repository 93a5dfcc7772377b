"""Regulatory approvals of device models per jurisdiction, mutual recognition, and eligibility.

The question this module answers is the manufacturer's and the scheduler's: "may model M be used
on a patient in country C, on what basis, and if not, which approvals we already hold would
shorten the route?" (:func:`eligibility`).

Jurisdictions are reference data (``jurisdictions.JURISDICTIONS``: the regulator's code, its name
and the countries whose market it opens). Approvals and recognition agreements are data in the
database (``models.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from exoshare.auth.scope import Permission, Principal
from exoshare.devices.approvals.jurisdictions import JURISDICTIONS, jurisdictions_of
from exoshare.devices.approvals.models import DeviceApproval, RecognitionAgreement
from exoshare.devices.approvals.schemas import ApprovalStatus, RecognitionKind
from exoshare.devices.models import DeviceModel
from exoshare.errors import N_, Conflict, InvalidInput, NotFound, PermissionDenied
from exoshare.network.reach import uncovered_countries


def _check_jurisdiction(code: str, field_name: str = "jurisdiction") -> str:
    code = code.strip().upper()
    if code not in JURISDICTIONS:
        raise InvalidInput(
            f"unknown jurisdiction {code!r}; known: {', '.join(sorted(JURISDICTIONS))}",
            field=field_name,
        )
    return code


def record_approval(
    session: Session,
    principal: Principal,
    model_id: str,
    jurisdiction: str,
    status: ApprovalStatus,
    status_date: date,
    indications: str,
    reference: str | None = None,
) -> DeviceApproval:
    """Record (or update) the status of a model in a jurisdiction.

    An approval opens the jurisdiction's markets, so the caller's subtrees must hold every
    country of the jurisdiction: as the model's maker (``models:write`` there) or as the network's
    operator (``network:write`` there). Seeding passes ``SYSTEM_SEEDING``.
    """
    model = session.get(DeviceModel, model_id)
    if model is None:
        raise NotFound(f"device model {model_id} not found", field="model_id")
    if not principal.can(Permission.models_write):
        raise PermissionDenied.worded(N_("you may not record regulatory approvals"))
    code = _check_jurisdiction(jurisdiction)
    countries = JURISDICTIONS[code].countries
    as_operator = not uncovered_countries(session, principal, Permission.network_write, countries)
    if not as_operator:
        if principal.partner_id != model.maker_id:
            raise PermissionDenied(
                f"you may not record {code} approvals of this model: manufacturers record "
                "approvals of their own models, operators those of the countries they run"
            )
        outside = uncovered_countries(session, principal, Permission.models_write, countries)
        if outside:
            raise PermissionDenied(
                f"a {code} approval opens {', '.join(outside)}, outside your grants",
                field="jurisdiction",
            )
    if not indications.strip():
        raise InvalidInput.worded(
            N_("indications must not be empty"), also={"field": "indications"}
        )
    approval = session.scalar(
        select(DeviceApproval).where(
            DeviceApproval.model_id == model_id, DeviceApproval.jurisdiction == code
        )
    )
    if approval is None:
        approval = DeviceApproval(model_id=model_id, jurisdiction=code)
        session.add(approval)
    approval.status = status
    approval.status_date = status_date
    approval.indications = indications.strip()
    approval.reference = reference
    approval.recorded_by_id = principal.user_ref
    session.flush()
    return approval


def list_approvals(session: Session, model_id: str) -> list[DeviceApproval]:
    return list(
        session.scalars(
            select(DeviceApproval)
            .where(DeviceApproval.model_id == model_id)
            .order_by(DeviceApproval.jurisdiction)
        )
    )


def create_agreement(
    session: Session,
    principal: Principal,
    name: str,
    kind: RecognitionKind,
    members: list[str],
    description: str | None = None,
) -> RecognitionAgreement:
    """Record an agreement between regulators.

    An agreement opens every member's markets to the others' approvals, so only an operator whose
    subtrees hold every country of every member (``network:write`` there) records one.
    """
    codes = sorted({_check_jurisdiction(m, "members") for m in members})
    if len(codes) < 2:
        raise InvalidInput.worded(
            N_("an agreement needs at least two jurisdictions"), also={"field": "members"}
        )
    if not principal.can(Permission.network_write):
        raise PermissionDenied.worded(
            N_("only the consortium operator records recognition agreements")
        )
    reach = frozenset().union(*(JURISDICTIONS[c].countries for c in codes))
    outside = uncovered_countries(session, principal, Permission.network_write, reach)
    if outside:
        raise PermissionDenied(
            f"an agreement between {', '.join(codes)} reaches {', '.join(outside)}, "
            "outside your grants",
            field="members",
        )
    if session.scalar(select(RecognitionAgreement.id).where(RecognitionAgreement.name == name)):
        raise Conflict(f"an agreement named {name!r} already exists", field="name")
    agreement = RecognitionAgreement(name=name, kind=kind, members=codes, description=description)
    session.add(agreement)
    session.flush()
    return agreement


def list_agreements(session: Session) -> list[RecognitionAgreement]:
    return list(session.scalars(select(RecognitionAgreement).order_by(RecognitionAgreement.name)))


@dataclass(frozen=True)
class Route:
    """One way an existing approval or application shortens the route to a jurisdiction."""

    jurisdiction: str
    """The target regulator (covers the country asked about)."""
    kind: str
    """``pending_application``, ``trial_data_recognition`` or ``reapply``."""
    via_jurisdiction: str | None
    via_agreement: str | None
    explanation: str


@dataclass
class Eligibility:
    model_id: str
    country: str
    eligible: bool
    basis: str | None
    """``direct`` (approved by a regulator of the country) or ``mutual_recognition``."""
    jurisdictions: list[str]
    approvals: list[DeviceApproval] = field(default_factory=list)
    """The approvals the answer rests on (the basis when eligible)."""
    via_agreement: str | None = None
    routes: list[Route] = field(default_factory=list)
    explanation: str = ""


def eligibility(session: Session, model_id: str, country: str) -> Eligibility:
    """May the model be used on a patient in ``country``, on what basis, or what shortens the route.

    >>> eligibility(session, ax2.id, "IN").basis          # doctest: +SKIP
    'mutual_recognition'
    """
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise InvalidInput.worded(
            N_("country must be an ISO 3166-1 alpha-2 code"), also={"field": "country"}
        )
    if session.get(DeviceModel, model_id) is None:
        raise NotFound(f"device model {model_id} not found")
    approvals = {a.jurisdiction: a for a in list_approvals(session, model_id)}
    return _decide(model_id, country, approvals, list_agreements(session))


def _decide(
    model_id: str,
    country: str,
    approvals: dict[str, DeviceApproval],
    agreements: list[RecognitionAgreement],
) -> Eligibility:
    local = [j.code for j in jurisdictions_of(country)]
    answer = Eligibility(model_id, country, False, None, local)
    if not local:
        answer.explanation = f"no regulator is known for country {country}"
        return answer
    approved = {c: a for c, a in approvals.items() if a.status is ApprovalStatus.approved}
    direct = [approved[c] for c in local if c in approved]
    if direct:
        answer.eligible, answer.basis, answer.approvals = True, "direct", direct
        answer.explanation = "approved by " + ", ".join(
            f"{a.jurisdiction} on {a.status_date.isoformat()}" for a in direct
        )
        return answer
    for agreement in agreements:
        if agreement.kind is not RecognitionKind.approval:
            continue
        if not set(local) & set(agreement.members):
            continue
        basis = [approved[m] for m in agreement.members if m in approved]
        if basis:
            answer.eligible, answer.basis = True, "mutual_recognition"
            answer.approvals, answer.via_agreement = basis, agreement.name
            answer.explanation = (
                f"{', '.join(a.jurisdiction for a in basis)} approval recognised in {country} "
                f"under {agreement.name}"
            )
            return answer
    for code in local:
        own = approvals.get(code)
        if own is not None and own.status is ApprovalStatus.pending:
            answer.routes.append(
                Route(
                    code,
                    "pending_application",
                    None,
                    None,
                    f"application to {code} pending since {own.status_date.isoformat()}",
                )
            )
        elif own is not None:
            answer.routes.append(
                Route(
                    code,
                    "reapply",
                    None,
                    None,
                    f"{code} {own.status.value} on {own.status_date.isoformat()}: a new "
                    "application is needed",
                )
            )
        for agreement in agreements:
            if code not in agreement.members:
                continue
            for member in agreement.members:
                if member == code or member not in approved:
                    continue
                accepted = "approval" if agreement.kind is RecognitionKind.approval else "data"
                answer.routes.append(
                    Route(
                        code,
                        "trial_data_recognition",
                        member,
                        agreement.name,
                        f"{code} accepts {member} trial {accepted} under {agreement.name}: "
                        f"apply to {code} citing the {member} approval of "
                        f"{approved[member].status_date.isoformat()}",
                    )
                )
    reasons = ", ".join(local)
    answer.explanation = f"not approved by {reasons}" + (
        f"; {len(answer.routes)} route(s) would shorten the way" if answer.routes else ""
    )
    return answer


def approved_countries(session: Session, model_ids: list[str] | None = None) -> dict[str, set[str]]:
    """Model id -> every country where it may be used now (directly or by recognition)."""
    stmt = select(DeviceApproval).where(DeviceApproval.status == ApprovalStatus.approved)
    if model_ids is not None:
        stmt = stmt.where(DeviceApproval.model_id.in_(model_ids))
    approved: dict[str, set[str]] = {}
    for a in session.scalars(stmt):
        approved.setdefault(a.model_id, set()).add(a.jurisdiction)
    recognised = [a for a in list_agreements(session) if a.kind is RecognitionKind.approval]
    out: dict[str, set[str]] = {}
    for model_id, codes in approved.items():
        # One hop only, as in eligibility(): recognition is not transitive between agreements.
        reach = set(codes)
        for agreement in recognised:
            if codes & set(agreement.members):
                reach |= set(agreement.members)
        out[model_id] = {c for code in reach for c in JURISDICTIONS[code].countries}
    return out
