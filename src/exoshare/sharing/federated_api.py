"""HTTP routes of federated training: start a run (trained in the background) and read runs."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status

from exoshare.auth.gate import CurrentPrincipal
from exoshare.deps import DbSession
from exoshare.runtime import runtime_of
from exoshare.sharing import federated
from exoshare.sharing.schemas import FederatedRunCreate, FederatedRunOut

router = APIRouter(tags=["sharing"])


@router.get("/api/v1/research/federated-runs", response_model=list[FederatedRunOut])
def list_runs(session: DbSession, principal: CurrentPrincipal) -> list[FederatedRunOut]:
    """Every federated run, newest first, as the caller may see it (small counts withheld)."""
    return [
        federated.view(session, principal, run) for run in federated.list_runs(session, principal)
    ]


@router.post(
    "/api/v1/research/federated-runs",
    response_model=FederatedRunOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def start_run(
    body: FederatedRunCreate,
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    principal: CurrentPrincipal,
) -> FederatedRunOut:
    """Queue a run; it trains after the answer is sent (the session is committed by then)."""
    run = federated.start_run(session, principal, body)
    background.add_task(federated.execute, runtime_of(request).sessionmaker, run.id)
    return federated.view(session, principal, run)


@router.get("/api/v1/research/federated-runs/{run_id}", response_model=FederatedRunOut)
def get_run(run_id: str, session: DbSession, principal: CurrentPrincipal) -> FederatedRunOut:
    return federated.view(session, principal, federated.get_run(session, principal, run_id))
