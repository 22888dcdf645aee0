"""What a destination receives: one JSON object per event, the same for every kind.

``{"id": "evt_12", "type": "job.succeeded", "tenant": "acme", "occurred_at": "…Z",
"job": {…}}``; a workflow's event carries ``workflow`` instead of ``job``, any other event
``data``. Times are ISO 8601 in UTC, whichever database stored them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from workhorse.backends import base as b
from workhorse.types import JSON

_TIMES = ("created_at", "run_at", "started_at", "finished_at")
_WORKFLOW_TIMES = ("created_at", "finished_at")
_STEP_TIMES = ("started_at", "finished_at")

WORKFLOW_PREFIX = "workflow."
"""The type of a workflow's event starts so; its envelope carries ``workflow``."""


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
    elif event.type.startswith(WORKFLOW_PREFIX) and isinstance(event.data, dict):
        doc["workflow"] = _workflow(event.data)
    else:
        doc["data"] = event.data
    return doc


def _job(data: dict[str, JSON]) -> dict[str, JSON]:
    """The stored job with its times in one format (PostgreSQL stores ISO text with the
    session's offset, SQLite epoch seconds)."""
    job = _times(data, _TIMES)
    error = data.get("error")
    if isinstance(error, dict):
        job["error"] = {**error, "at": _time(error.get("at"))}
    return job


def _workflow(data: dict[str, JSON]) -> dict[str, JSON]:
    """The stored workflow, its times and its steps' in one format."""
    workflow = _times(data, _WORKFLOW_TIMES)
    steps = data.get("steps")
    if isinstance(steps, list):
        workflow["steps"] = [
            _times(step, _STEP_TIMES) if isinstance(step, dict) else step for step in steps
        ]
    return workflow


def _times(data: dict[str, JSON], keys: tuple[str, ...]) -> dict[str, JSON]:
    return {**data, **{key: _time(data.get(key)) for key in keys}}


def _time(value: JSON) -> str | None:
    if isinstance(value, int | float):
        return _iso(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str):
        return _iso(datetime.fromisoformat(value))
    return None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
