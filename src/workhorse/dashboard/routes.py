"""Serving the dashboard: one HTML page for every path under ``/ui``, and its static assets.

The page holds no data and no secret: it signs in with an API key kept in the browser and reads
``/v1`` like any other client, so what a key may see is decided by the API alone. A strict
Content-Security-Policy allows only this origin's own scripts, styles and API.
"""

from __future__ import annotations

import html
import os
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from workhorse import __version__

PREFIX = "/ui"
_HERE = Path(__file__).parent
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _Assets(StaticFiles):
    """Static files, revalidated on every load (by ETag), so an upgrade is seen at once."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount_dashboard(api: FastAPI) -> None:
    """Serve the dashboard under ``/ui`` (kept out of the OpenAPI schema)."""
    api.mount(f"{PREFIX}/static", _Assets(directory=_HERE / "static"), name="ui-static")
    api.add_api_route(PREFIX, _to_slash, methods=["GET"], include_in_schema=False)
    api.add_api_route(f"{PREFIX}/", _page, methods=["GET"], include_in_schema=False)
    api.add_api_route(f"{PREFIX}/{{path:path}}", _page, methods=["GET"], include_in_schema=False)


def _to_slash(request: Request) -> RedirectResponse:
    return RedirectResponse(_base(request.scope) + "/", status_code=308)


def _page(request: Request) -> HTMLResponse:
    """The one page; the script shows the view the path names (``/ui/jobs/42`` …)."""
    page = _template().replace("{{base}}", html.escape(_base(request.scope)))
    return HTMLResponse(page.replace("{{version}}", __version__), headers=_SECURITY_HEADERS)


def _base(scope: Scope) -> str:
    """The dashboard's URL path, behind a proxy's ``root_path`` too."""
    return str(scope.get("root_path", "")).rstrip("/") + PREFIX


@cache
def _template() -> str:
    return (_HERE / "templates" / "index.html").read_text("utf-8")
