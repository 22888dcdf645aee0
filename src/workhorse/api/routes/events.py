"""``POST /v1/events``: an event in, one job per task subscribed to its type, idempotent by
event id (the same id again enqueues nothing and answers with the first call's jobs)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from workhorse.api.auth import App, Caller
from workhorse.api.types import Name

router = APIRouter(tags=["events"])


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$",
        examples=["order.created"],
    )
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[\x20-\x7e]+$",
        description="The event's id, for de-duplication; a new one when left out.",
    )
    tenant: Name | None = Field(default=None, description="Admin keys: whose event it is.")
    data: Any = None


class EventOut(BaseModel):
    id: str
    created: bool = Field(description="False: this event id was received before.")
    job_ids: list[int]


@router.post(
    "/events",
    status_code=201,
    response_model=EventOut,
    operation_id="emitEvent",
    responses={200: {"model": EventOut, "description": "Received before: nothing new."}},
)
def emit_event(body: EventIn, app: App, caller: Caller, response: Response) -> EventOut:
    """Receive an event: a job for each task subscribed to its type."""
    tenant = caller.tenant_filter(body.tenant)
    event_id = body.id or uuid.uuid4().hex
    received = app.emit(body.type, body.data, tenant=tenant, event_id=event_id)
    if not received.created:
        response.status_code = 200
    return EventOut(id=event_id, created=received.created, job_ids=[j.id for j in received.jobs])
