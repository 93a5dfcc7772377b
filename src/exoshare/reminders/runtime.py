"""The reminder dispatcher inside the web process: a background task every
``reminders_interval_s`` (with ``reminders_dispatch``), beside telerehab's and telemetry's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from exoshare.reminders.dispatch import Dispatcher
from exoshare.reminders.sms import sms_sender_for
from exoshare.runtime import runtime_of
from exoshare.telerehab.runtime import telerehab_lifespan

log = logging.getLogger(__name__)


async def _dispatch_loop(dispatcher: Dispatcher, interval_s: float) -> None:
    while True:
        try:
            result = await asyncio.to_thread(dispatcher.run_once)
            if result.claimed:
                log.info(
                    "reminders: %d sent, %d to retry, %d failed",
                    result.sent, result.retrying, result.failed,
                )  # fmt: skip
        except Exception:
            # One bad run (a database restart) must not end the reminders of the process.
            log.exception("reminder dispatch failed")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def reminders_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Telerehab's lifespan (and telemetry's inside it), plus the reminder dispatcher."""
    async with telerehab_lifespan(app):
        runtime = runtime_of(app)
        if not runtime.settings.reminders_dispatch:
            yield
            return
        dispatcher = Dispatcher(
            runtime.sessionmaker,
            runtime.settings,
            sms_sender_for(runtime.settings, runtime.sessionmaker),
        )
        task = asyncio.create_task(
            _dispatch_loop(dispatcher, runtime.settings.reminders_interval_s),
            name="exoshare-reminders",
        )
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
