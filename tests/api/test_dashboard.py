"""Serving the dashboard under ``/ui``: the page, its assets, and the headers that guard it.

What the page does in a browser is tested in ``tests/e2e``; here, what the server sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from workhorse.dashboard import routes

from .support import Clock, error_of, make_app, running_api

STATIC = Path(routes.__file__).parent / "static"


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[httpx.Client]:
    """A client of a served API (SQLite: serving the dashboard does not touch the database)."""
    app = make_app(f"sqlite:///{tmp_path}/ui.db", Clock())
    try:
        with running_api(app) as url, httpx.Client(base_url=url) as client:
            yield client
    finally:
        app.close()


@pytest.mark.parametrize("path", ["/ui/", "/ui/jobs", "/ui/jobs/42", "/ui/dead", "/ui/no/such"])
def test_every_dashboard_path_serves_the_page(ui: httpx.Client, path: str) -> None:
    response = ui.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<meta name="wh-base" content="/ui">' in response.text
    assert '<script type="module" src="/ui/static/js/main.js?v=' in response.text
    assert "{{" not in response.text


def test_ui_without_a_slash_redirects(ui: httpx.Client) -> None:
    response = ui.get("/ui")
    assert response.status_code == 308
    assert response.headers["location"] == "/ui/"


def test_the_page_is_locked_to_this_origin(ui: httpx.Client) -> None:
    headers = ui.get("/ui/").headers
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_the_page_loads_nothing_from_elsewhere(ui: httpx.Client) -> None:
    """No CDN: every URL in the page and its assets is relative to this server."""
    texts = [ui.get("/ui/").text]
    texts += [
        path.read_text("utf-8") for path in STATIC.rglob("*") if path.suffix in {".js", ".css"}
    ]
    for text in texts:
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[/\w.-]*", text)
        assert [url for url in urls if "www.w3.org/2000/svg" not in url] == []


def test_every_asset_is_served_with_its_type(ui: httpx.Client) -> None:
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    assets = sorted(path for path in STATIC.rglob("*") if path.is_file())
    assert len(assets) >= 10
    for path in assets:
        response = ui.get(f"/ui/static/{path.relative_to(STATIC).as_posix()}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(types[path.suffix]), path
        assert response.headers["cache-control"] == "no-cache"
        assert response.content == path.read_bytes()


def test_every_module_import_resolves_to_an_asset() -> None:
    for script in STATIC.rglob("*.js"):
        for target in re.findall(r'from "(\.[^"]+)"', script.read_text("utf-8")):
            assert (script.parent / target).resolve().is_file(), f"{script.name}: {target}"


def test_a_missing_asset_is_a_json_404(ui: httpx.Client) -> None:
    assert error_of(ui.get("/ui/static/js/nothing.js")) == (404, "not_found")
    assert error_of(ui.get("/ui/static/%2e%2e/routes.py"))[0] == 404


def test_the_dashboard_stays_out_of_the_api_schema(ui: httpx.Client) -> None:
    paths = ui.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]
    assert {"/v1/stats", "/v1/stats/workers", "/v1/me"} <= set(paths)
