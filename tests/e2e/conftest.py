"""Browser fixtures: a real server on a free port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from exoshare.app import create_app
from exoshare.config import Settings
from exoshare.health import wait_until_healthy

CHROMIUM = os.environ.get("EXOSHARE_CHROMIUM", "/usr/bin/chromium")
# Without these, Chromium tries to reach Google's services and this machine has no internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("EXOSHARE_SCREENSHOTS", "test-artifacts/screenshots"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    # Ready when its health says so: with MQTT ingestion, once the worker is subscribed.
    if not wait_until_healthy(url, timeout_s=60.0):
        raise RuntimeError("the test server did not become healthy within 60 s")
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module; Playwright's sync API holds an asyncio loop on this thread
    while it runs, so it must stop before other modules' tests call asyncio.run()."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    # CI machines are shared and slow at times; a minute is generous but still bounded.
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()
