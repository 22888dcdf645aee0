"""Fixtures: Debian's headless Chromium (one for the package, a fresh context per test) and a served
app per test on its own SQLite database.

Without ``/usr/bin/chromium`` the browser tests skip locally and fail in CI; ``scripts/
ensure-services.sh`` installs it. Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect, sync_playwright

from api.support import running_api

from .harness import Site, Switches, make_app

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
_LOOPBACK = re.compile(r"^http://127\.0\.0\.1(:\d+)?/")
# Chromium logs every non-2xx fetch; the dashboard handles those (a 404 for another tenant's job,
# a 401 for a wrong key), so they are not errors of the page.
_EXPECTED_CONSOLE = re.compile(r"Failed to load resource: the server responded with a status of 4")

expect.set_options(timeout=10_000)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """The browser, for this package's tests only: while Playwright's sync API runs, the main
    thread has a running event loop, so tests elsewhere could not ``asyncio.run``."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run scripts/ensure-services.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A fresh app on its own SQLite file, its API and dashboard served on a loopback port."""
    switches = Switches()
    app = make_app(f"sqlite:///{tmp_path}/e2e.db", switches)
    try:
        with running_api(app) as url:
            yield Site(url=url, app=app, switches=switches)
    finally:
        switches.release.set()
        app.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no stored key). Requests anywhere but 127.0.0.1 are
    refused and fail the test, as do script errors in the page."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(10_000)
    elsewhere: list[str] = []
    errors: list[str] = []

    def refuse(route: Route) -> None:
        elsewhere.append(route.request.url)
        route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not _EXPECTED_CONSOLE.search(message.text):
            errors.append(message.text)

    context.route(lambda url: not _LOOPBACK.match(url), refuse)
    opened = context.new_page()
    opened.on("console", console)
    opened.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    try:
        yield opened
    finally:
        context.close()
    assert elsewhere == [], "the dashboard reached beyond this server"
    assert errors == [], "the page logged errors"
