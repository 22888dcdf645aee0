"""``/docs``: Swagger UI for the REST API, off unless asked for (``--docs``).

Its scripts and styles are the ones the ``fastapi-offline`` package ships (a pinned version,
installed with Workhorse), served by this server: the page loads nothing from a CDN, works
offline, and a Content-Security-Policy allows only this server's own scripts. The dashboard keeps
API keys in this origin's browser storage, so no third-party script may ever run here.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

PATH = "/docs"
_SWAGGER = Path(fastapi_offline.__file__).parent / "static"
_OURS = Path(__file__).parent / "static"
_SECURITY_HEADERS = {
    # Swagger UI sets style attributes as it renders, hence 'unsafe-inline' for styles only.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="wh-openapi" content="{openapi}">
  <title>Workhorse API</title>
  <link rel="icon" href="{base}/swagger/favicon.png">
  <link rel="stylesheet" href="{base}/swagger/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{base}/swagger/swagger-ui-bundle.js"></script>
  <script src="{base}/static/docs.js"></script>
</body>
</html>
"""


def mount_docs(api: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` (kept out of the OpenAPI schema)."""
    api.mount(f"{PATH}/swagger", StaticFiles(directory=_SWAGGER), name="docs-swagger")
    api.mount(f"{PATH}/static", StaticFiles(directory=_OURS), name="docs-static")
    api.add_api_route(PATH, _page, methods=["GET"], include_in_schema=False)


def _page(request: Request) -> HTMLResponse:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    page = _PAGE.format(base=html.escape(root + PATH), openapi=html.escape(root + "/openapi.json"))
    return HTMLResponse(page, headers=_SECURITY_HEADERS)
