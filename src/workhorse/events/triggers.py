"""Events in: an incoming event becomes one job per task subscribed to its type
(``@app.task(on_event="order.created")``), idempotent by event id: the event and its jobs are
stored in one transaction, and an event id seen before (a redelivered message) enqueues nothing.

A subscribed task is called with one argument, the event: ``{"id", "type", "tenant", "data"}``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.serialization import check_json

if TYPE_CHECKING:
    from workhorse.app import Workhorse

_TYPE = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")
MAX_ID = 200


def event_types(on_event: str | Sequence[str] | None) -> tuple[str, ...]:
    """``on_event`` as a tuple of checked event types."""
    chosen = (on_event,) if isinstance(on_event, str) else tuple(on_event or ())
    for event_type in chosen:
        check_type(event_type)
    return chosen


def check_type(event_type: str) -> str:
    if (
        not isinstance(event_type, str)
        or len(event_type) > MAX_ID
        or not _TYPE.fullmatch(event_type)
    ):
        raise ConfigurationError(
            f"an event type is dot-separated words of letters, digits, - and _: {event_type!r}"
        )
    return event_type


def content_id(body: bytes) -> str:
    """An id for a message that carries none: the same bytes, the same id."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def emit(
    app: Workhorse,
    event_type: str,
    data: Any = None,
    *,
    tenant: str | None = None,
    event_id: str | None = None,
) -> b.ReceivedEvent:
    """Store the event and one job per subscribed task, once per (tenant, event id)."""
    check_type(event_type)
    event_id = event_id or uuid.uuid4().hex
    if not event_id or len(event_id) > MAX_ID:
        raise ConfigurationError(f"an event id is 1 to {MAX_ID} characters")
    tenant = tenant or app.default_tenant
    document = {
        "id": event_id,
        "type": event_type,
        "tenant": tenant,
        "data": check_json(data, "data"),
    }
    now = app.clock()
    jobs = [
        app.new_job(task.with_options(tenant=tenant).prepare(document), now)
        for task in subscribers(app, event_type)
    ]
    params = b.EventReceiveParams(
        tenant=tenant, event_id=event_id, type=event_type, jobs=jobs, now=now
    )
    return app.backend.event_receive(params)


def subscribers(app: Workhorse, event_type: str) -> list[Any]:
    """The tasks subscribed to ``event_type``, by name."""
    return sorted(
        (task for task in app.tasks.values() if event_type in task.on_event),
        key=lambda task: task.name,
    )
