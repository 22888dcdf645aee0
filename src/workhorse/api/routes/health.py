"""``/healthz`` (the process answers) and ``/readyz`` (the database answers, schema current)."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter

from workhorse.api.auth import App
from workhorse.api.errors import ApiError
from workhorse.api.schemas import ErrorBody, Health
from workhorse.backends.sql import load_migrations
from workhorse.errors import WorkhorseError

router = APIRouter(tags=["health"])

_MIGRATIONS = {
    "sqlite": "workhorse.backends.sqlite.migrations",
    "postgresql": "workhorse.backends.postgres.migrations",
    "postgres": "workhorse.backends.postgres.migrations",
}


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
        version = app.backend.schema_version()
    except WorkhorseError as exc:
        raise ApiError(503, "not_ready", f"database unavailable: {exc}") from None
    latest = _latest_version(app.backend.url)
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


def _latest_version(url: str) -> int:
    return _newest_migration(_MIGRATIONS[url.split(":", 1)[0].lower()])


@cache
def _newest_migration(package: str) -> int:
    return load_migrations(package)[-1][0]
