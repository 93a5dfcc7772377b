"""The demo's federated training: two runs the researcher asked for, one plain and one with
differential privacy, trained in the background once the server is up (a Flower simulation
with Ray takes about a minute on a busy machine)."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from exoshare.auth import service as auth_service
from exoshare.auth.scope import SYSTEM_DEMO
from exoshare.db import session_scope
from exoshare.sharing import federated
from exoshare.sharing.schemas import FederatedRunCreate

RUNS = (
    FederatedRunCreate(rounds=20),
    # Client-level DP over three clinics: every clinic in every round, so no sampling
    # amplification; epsilon is reported at delta 1e-5.
    FederatedRunCreate(rounds=20, dp_noise_multiplier=1.0, dp_clipping_norm=0.5),
)


def queue_runs(session: Session, researcher_email: str) -> list[str]:
    """The demo's runs, queued as the researcher's."""
    researcher = auth_service.user_by_email(session, SYSTEM_DEMO, researcher_email)
    if researcher is None:
        return []
    principal = auth_service.principal_for(session, researcher)
    return [federated.start_run(session, principal, body).id for body in RUNS]


def train_in_background(factory: sessionmaker[Session], run_ids: list[str]) -> None:
    """Train the queued runs one after the other in a daemon thread."""

    def train() -> None:
        for run_id in run_ids:
            federated.execute(factory, run_id)

    threading.Thread(target=train, name="demo-federated", daemon=True).start()


def seed_federated(factory: sessionmaker[Session], researcher_email: str) -> list[str]:
    with session_scope(factory) as session:
        return queue_runs(session, researcher_email)
