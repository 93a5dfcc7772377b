"""HTML routes of federated training: the runs with a form to start one, and one run's rounds,
clinics, privacy budget and federated-vs-central error."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from exoshare.auth.gate import CurrentPrincipal
from exoshare.auth.scope import Permission
from exoshare.deps import DbSession
from exoshare.errors import InvalidInput, NotFound
from exoshare.network import service as network_service
from exoshare.runtime import runtime_of
from exoshare.sharing import federated
from exoshare.sharing.federated_chart import rounds_chart
from exoshare.sharing.schemas import FederatedRunCreate, FederatedStrategy
from exoshare.web.labels import N_
from exoshare.web.render import render, request_gettext

router = APIRouter(include_in_schema=False)

CHART_WORDS = {
    "title": N_("Test error of the global model per round"),
    "x": N_("Round"),
    "y": N_("Mean absolute error (m/s)"),
    "overall": N_("All clinics"),
    "central": N_("Central model"),
}


@router.get("/research/federated", response_class=HTMLResponse)
def runs_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, error: str = ""
) -> HTMLResponse:
    """The federated runs and the form to start one (operator and researchers)."""
    if not principal.can(Permission.federated_train):
        raise NotFound("page not found")
    return render(
        request,
        "sharing/federated.html",
        principal,
        runs=[
            federated.view(session, principal, r) for r in federated.list_runs(session, principal)
        ],
        clinics=network_service.clinics_in_scope(session, principal, Permission.network_read),
        strategies=list(FederatedStrategy),
        error=error[:300],
    )


@router.post("/research/federated")
def start_run(
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    principal: CurrentPrincipal,
    strategy: Annotated[FederatedStrategy, Form()] = FederatedStrategy.fedavg,
    rounds: Annotated[int, Form(ge=1, le=100)] = 20,
    proximal_mu: Annotated[float, Form(ge=0, le=10)] = 0.0,
    dp_noise_multiplier: Annotated[float, Form(ge=0, le=100)] = 0.0,
    dp_clipping_norm: Annotated[float, Form(gt=0, le=100)] = 1.0,
    clinic_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (read, never mutated)
) -> RedirectResponse:
    try:
        body = FederatedRunCreate(
            strategy=strategy,
            rounds=rounds,
            proximal_mu=proximal_mu,
            dp_noise_multiplier=dp_noise_multiplier,
            dp_clipping_norm=dp_clipping_norm,
            clinic_ids=clinic_ids,
        )
        run = federated.start_run(session, principal, body)
    except (InvalidInput, ValidationError) as refused:
        session.rollback()
        detail = refused.detail if isinstance(refused, InvalidInput) else str(refused)
        return RedirectResponse(f"/research/federated?error={quote(detail[:300])}", 303)
    background.add_task(federated.execute, runtime_of(request).sessionmaker, run.id)
    return RedirectResponse(f"/research/federated/{run.id}", status_code=303)


@router.get("/research/federated/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    run = federated.view(session, principal, federated.get_run(session, principal, run_id))
    names = {c.partition: c.clinic_name for c in run.clinics}
    per_clinic: dict[str, list[tuple[int, float]]] = {}
    for entry in run.round_metrics:
        for clinic in entry.clinics:
            per_clinic.setdefault(names[clinic.partition], []).append(
                (entry.round, clinic.test_mae)
            )
    translate = request_gettext(request, principal)
    chart = rounds_chart(
        [(r.round, r.test_mae) for r in run.round_metrics],
        per_clinic,
        run.central_mae,
        {key: translate(words) for key, words in CHART_WORDS.items()},
    )
    return render(request, "sharing/federated_run.html", principal, run=run, chart=chart)
