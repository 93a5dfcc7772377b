"""The FastAPI application factory: routers, error handling, static assets and templates."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from exoshare import __version__, problems
from exoshare.academy.api import public as academy_public_router
from exoshare.academy.api import router as academy_router
from exoshare.academy.media import MEDIA_UPLOAD_PATHS
from exoshare.academy.pages import router as academy_pages_router
from exoshare.auth.api import router as auth_router
from exoshare.auth.invitations.api import router as invitations_router
from exoshare.auth.invitations.pages import router as invitation_pages_router
from exoshare.auth.live_sockets import LiveSocketRegistry
from exoshare.auth.pages import router as account_pages_router
from exoshare.auth.password_reset.api import router as password_reset_router
from exoshare.auth.password_reset.pages import router as password_reset_pages_router
from exoshare.auth.sessions.api import router as sessions_router
from exoshare.auth.throttle import LoginThrottler
from exoshare.auth.totp.api import router as totp_router
from exoshare.careplan.api import router as careplan_router
from exoshare.careplan.pages import router as careplan_pages_router
from exoshare.config import Settings, get_settings
from exoshare.db import make_engine, make_sessionmaker
from exoshare.deps import refuse_nul_characters
from exoshare.devices.api import router as devices_router
from exoshare.devices.approvals.api import router as approvals_router
from exoshare.devices.approvals.pages import router as approvals_pages_router
from exoshare.devices.pages import router as devices_pages_router
from exoshare.fleet.api import router as fleet_router
from exoshare.fleet.pages import router as fleet_pages_router
from exoshare.health import router as health_router
from exoshare.heap import settle_heap
from exoshare.home import api as home_api_router
from exoshare.home import pages as home_pages_router
from exoshare.matchmaking.api import router as matchmaking_router
from exoshare.matchmaking.pages import router as matchmaking_pages_router
from exoshare.network.api import router as network_router
from exoshare.network.pages import router as network_pages_router
from exoshare.outcomes.api import router as outcomes_router
from exoshare.outcomes.pages import router as outcomes_pages_router
from exoshare.patients.api import router as patients_router
from exoshare.patients.pages import router as patients_pages_router
from exoshare.reminders.api import router as reminders_router
from exoshare.reminders.pages import router as reminders_pages_router
from exoshare.reminders.runtime import reminders_lifespan
from exoshare.runtime import Runtime
from exoshare.scheduling.api import router as scheduling_router
from exoshare.scheduling.desk_pages import router as scheduling_desk_router
from exoshare.scheduling.pages import router as scheduling_pages_router
from exoshare.sharing.api import router as sharing_router
from exoshare.sharing.federated_api import router as federated_router
from exoshare.sharing.federated_pages import router as federated_pages_router
from exoshare.sharing.fhir_api import router as fhir_router
from exoshare.sharing.pages import router as sharing_pages_router
from exoshare.telemetry.api import UPLOAD_PATH
from exoshare.telemetry.api import router as telemetry_router
from exoshare.telemetry.pages import router as telemetry_pages_router
from exoshare.telemetry.upload_limit import UploadSizeLimit
from exoshare.telerehab.api import router as telerehab_router
from exoshare.telerehab.pages import router as telerehab_pages_router
from exoshare.translations.pages import router as translations_pages_router
from exoshare.web import STATIC_DIR
from exoshare.web.language import router as language_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.resolved_database_url())
    app = FastAPI(
        title="exoshare",
        version=__version__,
        summary="Shared devices, therapist reach, knowledge and data for gait rehabilitation.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=reminders_lifespan,
        dependencies=[Depends(refuse_nul_characters)],
    )
    factory = make_sessionmaker(engine)
    app.state.runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=factory,
        login_throttler=LoginThrottler(factory, settings),
        live_sockets=LiveSocketRegistry(),
    )
    problems.install(app)
    app.add_middleware(
        UploadSizeLimit,
        paths=frozenset({UPLOAD_PATH}),
        max_upload_mb=settings.telemetry_max_upload_mb,
    )
    app.add_middleware(
        UploadSizeLimit,
        paths=frozenset(),
        path_pattern=MEDIA_UPLOAD_PATHS,
        max_upload_mb=settings.academy_max_media_mb,
        setting="academy_max_media_mb",
    )
    for router in (
        health_router,
        auth_router,
        network_router,
        home_api_router,
        patients_router,
        devices_router,
        language_router,
        home_pages_router,
        network_pages_router,
        translations_pages_router,
        patients_pages_router,
        devices_pages_router,
    ):
        app.include_router(router)
    for router in (
        approvals_router,
        fleet_router,
        scheduling_router,
        approvals_pages_router,
        fleet_pages_router,
        scheduling_pages_router,
        scheduling_desk_router,
        matchmaking_router,
        matchmaking_pages_router,
    ):
        app.include_router(router)
    for router in (
        invitations_router,
        password_reset_router,
        totp_router,
        sessions_router,
        account_pages_router,
        invitation_pages_router,
        password_reset_pages_router,
    ):
        app.include_router(router)
    app.include_router(telemetry_router)
    app.include_router(telemetry_pages_router)
    app.include_router(telerehab_router)
    app.include_router(telerehab_pages_router)
    app.include_router(careplan_router)
    app.include_router(careplan_pages_router)
    app.include_router(reminders_router)
    app.include_router(reminders_pages_router)
    app.include_router(outcomes_router)
    app.include_router(outcomes_pages_router)
    for router in (academy_router, academy_public_router, academy_pages_router):
        app.include_router(router)
    for router in (
        sharing_router,
        fhir_router,
        sharing_pages_router,
        federated_router,
        federated_pages_router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


UVICORN_OPTIONS: dict[str, Any] = {
    # Live views get ten small JSON frames a second per session. Compressing each one
    # (permessage-deflate) cost about a tenth of the web process's CPU at 100 live sessions,
    # and as much again in every browser, to save ~10 kB/s per view.
    "ws_per_message_deflate": False,
}
"""How every exoshare server process runs uvicorn (``serve``, ``demo``, the live benchmark)."""


def serve_app() -> FastAPI:
    """The app of one ``exoshare serve`` process (uvicorn factory)."""
    app = create_app()
    settle_heap()
    return app
