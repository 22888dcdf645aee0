"""The API's field types: what a client may send, checked before anything reaches storage.

Every string and JSON value is checked here for what a database would refuse later (NUL
characters, lone surrogates, numbers out of a column's range, unrepresentable times), so that
client input becomes a 422, never a 500.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StrictInt

MAX_DEPTH = 64
"""How deeply arguments may nest."""

_INT32 = 2**31 - 1
_TEN_YEARS = 10 * 365 * 24 * 3600.0
_MAX_ID = 2**63 - 1


def check_text(value: str) -> str:
    """``value``, unless it holds a character no database stores (NUL, a lone surrogate)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise ValueError("must be valid Unicode (no lone surrogates)")
    return value


def check_json_value(value: Any) -> Any:
    """``value``, unless it is not storable JSON: a non-finite number, bad text or too deep."""
    _walk(value, 0)
    return value


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nests more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            _walk(item, depth + 1)


def require_text(value: object) -> object:
    """Times are ISO 8601 strings: a bare number is not taken for a Unix timestamp."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The range of times every backend stores; a time outside it is taken as its nearer end."""


def check_time(value: datetime) -> datetime:
    """An aware time as UTC, moved into [``EARLIEST``, ``LATEST``] if outside: a job due before
    1970 is due now, and no job finished before 1970 or after 9998, so the meaning of a
    ``run_at`` or a filter is kept. (The schema's ``date-time`` cannot state a range of years,
    and a schema-valid time is never refused.)"""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # past year 1 or 9999 once in UTC
        return EARLIEST if value.year < 5000 else LATEST
    return min(max(utc, EARLIEST), LATEST)


def json_integer(value: object) -> object:
    """A number with no fraction (``2.0``) as the integer it is: JSON Schema's ``integer``
    includes it. Text, booleans and fractions are left for the strict check to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


NO_NUL = "^[^\\x00]*$"
"""The schema's statement of one rule of ``check_text`` (lone surrogates cannot travel in
valid UTF-8, so only NUL needs saying)."""

Name = Annotated[
    str,
    # The pattern is for the schema only: check_text enforces it with a clearer message.
    Field(min_length=1, max_length=200, json_schema_extra={"pattern": NO_NUL}),
    AfterValidator(check_text),
]
"""A task, tenant, queue or key name."""

Text = Annotated[str, Field(max_length=10_000), AfterValidator(check_text)]

# Integers are written 2 or 2.0, never "2" or true. The bounds go on the inner type, before
# json_integer wraps it, so that they reach the schema as minimum and maximum.
Priority = Annotated[StrictInt, Field(ge=-_INT32, le=_INT32), BeforeValidator(json_integer)]
"""Higher runs first."""

Count = Annotated[StrictInt, Field(ge=1, le=_INT32), BeforeValidator(json_integer)]

Quota = Annotated[StrictInt, Field(ge=0, le=_INT32), BeforeValidator(json_integer)]

Seconds = Annotated[
    float, Field(gt=0, le=_TEN_YEARS, strict=True, allow_inf_nan=False, examples=[30])
]
"""A positive duration in seconds, at most ten years."""

Time = Annotated[AwareDatetime, BeforeValidator(require_text), AfterValidator(check_time)]
"""An ISO 8601 time with its offset, e.g. ``2030-01-01T09:00:00Z``."""

JobId = Annotated[int, Field(ge=1, le=_MAX_ID)]

JobRef = Annotated[StrictInt, Field(ge=1, le=_MAX_ID), BeforeValidator(json_integer)]
"""A job's id in a request body (``after``): an integer, never ``"42"``."""

JSONList = Annotated[list[Any], AfterValidator(check_json_value)]
JSONObject = Annotated[dict[str, Any], AfterValidator(check_json_value)]
