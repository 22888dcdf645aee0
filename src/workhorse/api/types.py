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


def check_time(value: datetime) -> datetime:
    """An aware time as UTC, within the years every backend stores (1970 to 9999)."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not 1970 <= utc.year <= 9998:
        raise ValueError("must be between the years 1970 and 9998")
    return utc


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_text)]
"""A task, tenant, queue or key name."""

Text = Annotated[str, Field(max_length=10_000), AfterValidator(check_text)]

Priority = Annotated[StrictInt, Field(ge=-_INT32, le=_INT32)]
"""Higher runs first."""

Count = Annotated[StrictInt, Field(ge=1, le=_INT32)]

Seconds = Annotated[
    float, Field(gt=0, le=_TEN_YEARS, strict=True, allow_inf_nan=False, examples=[30])
]
"""A positive duration in seconds, at most ten years."""

Time = Annotated[AwareDatetime, BeforeValidator(require_text), AfterValidator(check_time)]
"""An ISO 8601 time with its offset, e.g. ``2030-01-01T09:00:00Z``."""

JobId = Annotated[int, Field(ge=1, le=_MAX_ID)]

JSONList = Annotated[list[Any], AfterValidator(check_json_value)]
JSONObject = Annotated[dict[str, Any], AfterValidator(check_json_value)]
