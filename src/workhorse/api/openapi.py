"""``/openapi.json``: the API's description, with the registered tasks for admin keys only.

The ``task`` field of a job lists the app's task names to an admin key (as an ``enum``, which
clients and schema-driven testers use); anyone else reads it as a plain name. Task names are the
operator's business: one tenant need not learn those of every other tenant's tasks.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from workhorse.app import Workhorse
from workhorse.errors import WorkhorseError

PATH = "/openapi.json"


def serve_openapi(api: FastAPI, app: Workhorse) -> None:
    """Serve ``/openapi.json`` (create ``api`` with ``openapi_url=None``: FastAPI's own route
    cannot tell an admin from anyone else). Both variants are built on first request, so tasks
    registered after ``create_api`` are listed."""
    documents: dict[bool, dict[str, Any]] = {}

    def document(admin: bool) -> dict[str, Any]:
        if admin not in documents:
            schema = copy.deepcopy(api.openapi())
            for name in ("JobCreate", "StepCreate"):
                job = schema.get("components", {}).get("schemas", {}).get(name, {})
                task = job.get("properties", {}).get("task")
                if admin and task is not None and app.tasks:
                    task["enum"] = sorted(app.tasks)
            documents[admin] = schema
        return documents[admin]

    def openapi(request: Request) -> JSONResponse:
        """The OpenAPI document; a plain function, since telling an admin key reads the
        database."""
        schema = document(_is_admin(app, request))
        root = str(request.scope.get("root_path", "")).rstrip("/")
        if root:  # behind a proxy's path prefix, "try it out" must call the prefixed paths
            schema = {**schema, "servers": [{"url": root}]}
        return JSONResponse(schema)

    api.add_api_route(PATH, openapi, methods=["GET"], include_in_schema=False)


def _is_admin(app: Workhorse, request: Request) -> bool:
    """Whether the request carries a live admin key (no key, or a bad one, is not an error
    here: the caller simply gets the public document)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        key = app.admin.authenticate(token.strip())
    except WorkhorseError:
        return False
    return key is not None and key.tenant is None
