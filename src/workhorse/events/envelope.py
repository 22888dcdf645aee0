"""What a destination receives: one JSON object per event, the same for every kind.

``{"id": "evt_12", "type": "job.succeeded", "tenant": "acme", "occurred_at": "…Z",
"job": {…}}``; an emitted (non-job) event carries ``data`` instead of ``job``. Times are ISO 8601
in UTC, whichever database stored them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from workhorse.backends import base as b
from workhorse.types import JSON

_TIMES = ("created_at", "run_at", "started_at", "finished_at")


def body(event: b.Event) -> bytes:
    """The event as the bytes sent (and signed)."""
    return orjson.dumps(document(event))


def document(event: b.Event) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": event.public_id,
        "type": event.type,
        "tenant": event.tenant,
        "occurred_at": _iso(event.occurred_at),
    }
    if event.job_id is not None and isinstance(event.data, dict):
        doc["job"] = _job(event.data)
    else:
        doc["data"] = event.data
    return doc


def _job(data: dict[str, JSON]) -> dict[str, JSON]:
    """The stored job with its times in one format (PostgreSQL stores ISO text with the
    session's offset, SQLite epoch seconds)."""
    job = {**data, **{key: _time(data.get(key)) for key in _TIMES}}
    error = data.get("error")
    if isinstance(error, dict):
        job["error"] = {**error, "at": _time(error.get("at"))}
    return job


def _time(value: JSON) -> str | None:
    if isinstance(value, int | float):
        return _iso(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str):
        return _iso(datetime.fromisoformat(value))
    return None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
