"""``/docs``: off unless asked for; when on, Swagger UI from the package, under a strict CSP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.support import running_api
from workhorse.api import ApiSettings

from .harness import Switches, make_app, shoot


@pytest.fixture
def docs_url(tmp_path: Path) -> Iterator[str]:
    switches = Switches()
    app = make_app(f"sqlite:///{tmp_path}/docs.db", switches)
    try:
        with running_api(app, ApiSettings(docs=True)) as url:
            yield url
    finally:
        switches.release.set()
        app.close()


def test_docs_load_offline_under_a_content_security_policy(page: Page, docs_url: str) -> None:
    response = httpx.get(f"{docs_url}/docs", timeout=10)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "cdn" not in response.text
    page.goto(f"{docs_url}/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/v1/jobs/batch")).to_have_count(1)
    shoot(page, "docs")
