"""The API application: ``create_api(workhorse)`` returns the ASGI app to serve."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from workhorse import __version__
from workhorse.api.body_limit import DEFAULT_MAX_BODY, BodyLimit
from workhorse.api.docs import mount_docs
from workhorse.api.errors import install_error_handlers
from workhorse.api.openapi import serve_openapi
from workhorse.api.routes import (
    discard,
    events,
    health,
    jobs,
    me,
    metrics,
    stats,
    system,
    tenants,
    usage,
    webhooks,
    workflows,
)
from workhorse.api.routes.jobs import MAX_WAIT_SECONDS
from workhorse.api.schemas import ErrorBody
from workhorse.api.telemetry import ApiTelemetry, TraceRequests
from workhorse.app import Workhorse
from workhorse.dashboard import mount_dashboard
from workhorse.observability.exposition import check_metrics_token
from workhorse.observability.gauges import GaugeSettings

_DESCRIPTION = """\
Submit and watch Workhorse jobs over HTTP. Every `/v1` endpoint needs an API key
(`Authorization: Bearer wh_…`, made with `workhorse keys create`). A tenant key sees and changes
only its tenant's jobs; an admin key sees every tenant. Errors are
`{"error": {"code": …, "message": …}}`.
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Malformed JSON",
        401: "Missing, invalid or revoked API key",
        403: "The key may not do this",
        404: "No such job (or not the key's tenant's)",
        409: "Conflicting state or Idempotency-Key",
        413: "Body over the size limit",
        422: "Invalid request",
        503: "The database cannot be reached",
    }.items()
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSettings:
    max_body: int = DEFAULT_MAX_BODY
    """Largest request body accepted, in bytes (413 beyond)."""
    idempotency_ttl: timedelta = timedelta(hours=24)
    """How long an Idempotency-Key is remembered."""
    gauges: GaugeSettings = field(default_factory=GaugeSettings)
    """The database-derived gauges of ``/metrics`` and the autoscaling policy."""
    docs: bool = False
    """Serve Swagger UI at ``/docs`` (off by default: the API's clients need only
    ``/openapi.json``)."""
    metrics_token: str | None = None
    """The bearer token ``/metrics`` asks for; without one, ``/metrics`` is off (it counts
    every tenant's jobs, so it is never open to anyone who can reach the API)."""
    max_wait: timedelta = timedelta(seconds=MAX_WAIT_SECONDS)
    """The longest ``GET /v1/jobs/{id}?wait=`` holds a request (a smaller ``wait`` is kept)."""

    def __post_init__(self) -> None:
        if self.metrics_token is not None:
            check_metrics_token(self.metrics_token)
        if self.max_body < 1:
            raise ValueError("max_body must be at least 1 byte")
        if self.idempotency_ttl <= timedelta(0):
            raise ValueError("idempotency_ttl must be positive")
        if not timedelta(0) <= self.max_wait <= timedelta(seconds=MAX_WAIT_SECONDS):
            raise ValueError(f"max_wait must be between 0 and {MAX_WAIT_SECONDS} seconds")


def create_api(app: Workhorse, settings: ApiSettings | None = None) -> FastAPI:
    """The REST API over ``app``: its task registry, database and clock."""
    settings = settings or ApiSettings()
    api = FastAPI(
        title="Workhorse",
        version=__version__,
        description=_DESCRIPTION,
        # FastAPI's own pages load Swagger UI from a CDN (ours does not), and its schema route
        # cannot list the tasks to admin keys only (ours does).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    api.state.workhorse = app
    api.state.settings = settings
    api.state.telemetry = ApiTelemetry.of(app, settings.gauges)
    install_error_handlers(api)
    api.include_router(health.router)
    api.include_router(metrics.router)
    api.include_router(jobs.router, prefix="/v1", responses=_ERRORS)
    api.include_router(system.router, prefix="/v1", responses=_ERRORS)
    api.include_router(tenants.router, prefix="/v1", responses=_ERRORS)
    api.include_router(discard.router, prefix="/v1", responses=_ERRORS)
    api.include_router(stats.router, prefix="/v1", responses=_ERRORS)
    api.include_router(usage.router, prefix="/v1", responses=_ERRORS)
    api.include_router(me.router, prefix="/v1", responses=_ERRORS)
    api.include_router(metrics.v1, prefix="/v1", responses=_ERRORS)
    api.include_router(workflows.router, prefix="/v1", responses=_ERRORS)
    api.include_router(webhooks.router, prefix="/v1", responses=_ERRORS)
    api.include_router(events.router, prefix="/v1", responses=_ERRORS)
    mount_dashboard(api)
    if settings.docs:
        mount_docs(api)
    api.add_middleware(BodyLimit, max_body=settings.max_body)
    api.add_middleware(TraceRequests)  # outermost of ours: the span covers the whole request
    serve_openapi(api, app)
    return api
