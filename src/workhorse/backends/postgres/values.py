"""How PostgreSQL holds values: psycopg adapts datetimes, lists and jsonb both ways, so values
pass as they are; times come back aware, and are turned to UTC."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from workhorse.types import JSON


class PostgresValues:
    """The ``Values`` of PostgreSQL (see ``workhorse.backends.store``)."""

    def time(self, value: datetime) -> datetime:
        return value

    def opt_time(self, value: datetime | None) -> datetime | None:
        return value

    def array(self, values: Iterable[Any]) -> list[Any]:
        return list(values)

    def at(self, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def opt_at(self, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def json(self, value: JSON) -> JSON:
        """jsonb arrives decoded (by orjson: see ``store._configure``)."""
        return value

    def elements(self, value: list[Any]) -> list[Any]:
        return value

    def flag(self, value: bool) -> bool:
        return value

    def interval(self, value: timedelta | None) -> timedelta | None:
        return value


VALUES = PostgresValues()
