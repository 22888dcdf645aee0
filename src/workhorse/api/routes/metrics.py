"""``/metrics`` (Prometheus, with the metrics token) and ``/v1/autoscale`` (how many workers the
load needs)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import choose_encoder

from workhorse.api.auth import Admin
from workhorse.api.errors import ApiError
from workhorse.api.stats_schemas import AutoscaleOut
from workhorse.api.telemetry import ApiTelemetry
from workhorse.observability.exposition import bearer_matches

router = APIRouter()
_OFF = (
    "/metrics is off: give the API a metrics token (--metrics-token, or better the environment "
    "variable WORKHORSE_METRICS_TOKEN) and scrape with it as a bearer token"
)
v1 = APIRouter()


def _telemetry(request: Request) -> ApiTelemetry:
    telemetry: ApiTelemetry = request.app.state.telemetry
    return telemetry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text exposition (OpenMetrics when the scraper asks for it): this process's
    counters and the database-derived gauges (read at most once per interval), for the bearer
    metrics token only (404 when the API has none, 401 without it). A plain function: a refresh
    reads the database."""
    token: str | None = request.app.state.settings.metrics_token
    if token is None:
        raise ApiError(404, "not_found", _OFF)
    if not bearer_matches(request.headers.get("authorization"), token):
        raise ApiError(
            401, "unauthorized", "/metrics needs the metrics token", {"WWW-Authenticate": "Bearer"}
        )
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(_telemetry(request).registry), headers={"Content-Type": content_type})


@v1.get("/autoscale", response_model=AutoscaleOut, tags=["workers"], operation_id="getAutoscale")
def autoscale(request: Request, caller: Admin) -> AutoscaleOut:
    """How many workers the current load needs, and what that is computed from (admin keys
    only); the same number as the ``workhorse_desired_workers`` gauge. See docs/operations.md."""
    gauges = _telemetry(request).gauges
    reading = gauges.read()
    settings = gauges.settings.autoscale
    return AutoscaleOut(
        desired_workers=reading.desired_workers,
        target_workers=reading.target_workers,
        current_workers=reading.workers,
        current_slots=reading.slots,
        slots_per_worker=reading.load.slots_per_worker,
        arrival_rate_per_s=reading.load.arrival_rate,
        mean_run_seconds=reading.load.mean_run_seconds,
        backlog=reading.load.backlog,
        min_workers=settings.min_workers,
        max_workers=settings.max_workers,
        headroom=settings.headroom,
        drain_target_seconds=settings.drain_target.total_seconds(),
        cooldown_seconds=settings.cooldown.total_seconds(),
        window_seconds=settings.window.total_seconds(),
        computed_at=reading.taken_at,
        database_up=reading.database_up,
    )
