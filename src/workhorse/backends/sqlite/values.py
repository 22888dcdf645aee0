"""How SQLite holds values: times as epoch seconds (REAL), JSON and lists as JSON text (lists
unpacked with ``json_each``), booleans as 0 and 1, durations as seconds."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson

from workhorse.clock import at_epoch, from_epoch, to_epoch
from workhorse.serialization import loads
from workhorse.types import JSON


class SQLiteValues:
    """The ``Values`` of SQLite (see ``workhorse.backends.store``)."""

    def time(self, value: datetime) -> float:
        return to_epoch(value)

    def opt_time(self, value: datetime | None) -> float | None:
        return None if value is None else to_epoch(value)

    def array(self, values: Iterable[Any]) -> str:
        return orjson.dumps(list(values)).decode()

    def at(self, value: float) -> datetime:
        return at_epoch(value)

    def opt_at(self, value: float | None) -> datetime | None:
        return from_epoch(value)

    def json(self, value: str | None) -> JSON:
        return loads(value)

    def elements(self, value: str) -> list[Any]:
        found: list[Any] = json.loads(value)
        return found

    def flag(self, value: int) -> bool:
        return bool(value)

    def interval(self, value: float | None) -> timedelta | None:
        return None if value is None else timedelta(seconds=value)


VALUES = SQLiteValues()
