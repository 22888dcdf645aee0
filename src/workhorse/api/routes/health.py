"""``/healthz`` (the process answers) and ``/readyz`` (the database answers, schema current)."""

from __future__ import annotations

from fastapi import APIRouter

from workhorse.api.auth import App
from workhorse.api.errors import ApiError
from workhorse.api.schemas import ErrorBody, Health
from workhorse.errors import WorkhorseError

router = APIRouter(tags=["health"])


@router.get(
    "/healthz", response_model=Health, response_model_exclude_none=True, operation_id="healthz"
)
async def healthz() -> Health:
    """Alive: the process serves requests (nothing else is checked)."""
    return Health(status="ok")


@router.get(
    "/readyz", response_model=Health, responses={503: {"model": ErrorBody}}, operation_id="readyz"
)
def readyz(app: App) -> Health:
    """Ready: the database answers and its schema is this version's (503 otherwise)."""
    try:
        status = app.schema_status()
    except WorkhorseError as exc:
        raise ApiError(503, "not_ready", f"database unavailable: {exc}") from None
    version, latest = status.version, status.latest
    if version < latest:
        raise ApiError(
            503,
            "not_ready",
            f"database schema is version {version}, this Workhorse needs {latest}: run "
            "`workhorse migrate`",
        )
    if version > latest:
        raise ApiError(
            503, "not_ready", f"database schema {version} is newer than this Workhorse ({latest})"
        )
    return Health(status="ready", schema_version=version)
