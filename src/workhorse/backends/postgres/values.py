"""How PostgreSQL holds values: psycopg adapts datetimes, lists and jsonb both ways, so values
pass as they are; times come back aware, and are turned to UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

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


def array_literal(values: Iterable[str | int | float | bool | datetime | None]) -> str:
    """``values`` as the text of a PostgreSQL array, for a parameter cast in SQL (``::text[]``,
    ``::bigint[]``…). psycopg adapts a list element by element in Python (its binary format
    too), which for the claim's lists of 50 tenants cost more than the statement's round trip;
    this is string joins. Strings are quoted, so no name can be read as NULL, a delimiter or a
    nested array.

    A list of one type is joined at once (a claim's lists are: names, numbers, flags), in C
    but for the element's conversion; names are escaped only if one holds a quote or a
    backslash. Others go element by element."""
    values = list(values)
    kinds = set(map(type, values))
    if len(kinds) != 1:
        return "{" + ",".join([_ELEMENT[type(value)](value) for value in values]) + "}"
    kind = kinds.pop()
    if kind is str:
        names = cast("list[str]", values)
        joined = "".join(names)
        if '"' in joined or "\\" in joined:
            return "{" + ",".join(map(_text, names)) + "}"
        return '{"' + '","'.join(names) + '"}'
    if kind is bool:
        return "{" + ",".join(["t" if value else "f" for value in values]) + "}"
    if kind is type(None):
        return "{" + ",".join(["NULL"] * len(values)) + "}"
    return "{" + ",".join(map(_ELEMENT[kind], values)) + "}"


def _text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_ELEMENT: dict[type, Callable[[Any], str]] = {
    str: _text,
    int: str,  # digits need no quotes
    float: repr,  # exact; PostgreSQL reads `inf` and `nan`
    bool: lambda value: "t" if value else "f",
    datetime: lambda value: f'"{value.isoformat()}"',
    type(None): lambda _: "NULL",
}
