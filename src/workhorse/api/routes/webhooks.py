"""``/v1/webhooks`` and ``/v1/deliveries``: a tenant's signed webhook endpoints and the delivery
log. A tenant key manages its own endpoints and sees their deliveries only (anything else is
404); an admin key manages every tenant's. Broker sinks are the operator's (``workhorse sinks``)
and are not shown here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from workhorse.api.auth import App, Caller, Principal
from workhorse.api.errors import ApiError
from workhorse.api.types import Name
from workhorse.app import Workhorse
from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.events.manage import EVENT_TYPES, NewWebhook
from workhorse.events.targets import PrivateTargetError

router = APIRouter(tags=["webhooks"])

T = TypeVar("T")
_MAX_ID = 2**63 - 1
_PORT = "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
"""1 to 65535: the schema states every URL it accepts can be used (IPv6 literals are not)."""

IdPath = Annotated[int, Path(ge=1, le=_MAX_ID)]
EventType = Literal[
    "job.succeeded",
    "job.dead",
    "job.cancelled",
    "job.retrying",
    "workflow.succeeded",
    "workflow.failed",
    "workflow.cancelled",
]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]
DeliveryStateName = Literal["pending", "delivered", "failed"]


class WebhookOut(BaseModel):
    id: int
    tenant: str
    url: str
    events: list[str] | None = Field(description="The event types it receives; null: all.")
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, destination: b.Destination) -> WebhookOut:
        return cls(
            id=destination.id,
            tenant=destination.tenant or "",
            url=destination.url,
            events=None if destination.event_types is None else list(destination.event_types),
            disabled_at=destination.disabled_at,
            disabled_reason=destination.disabled_reason,
            created_at=destination.created_at,
        )


class WebhooksOut(BaseModel):
    webhooks: list[WebhookOut]


class NewWebhookOut(BaseModel):
    webhook: WebhookOut
    secret: str = Field(description="The signing secret (whsec_…): shown only this once.")

    @classmethod
    def of(cls, new: NewWebhook) -> NewWebhookOut:
        return cls(webhook=WebhookOut.of(new.destination), secret=new.secret)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[A-Za-z0-9.\-]+(:" + _PORT + r")?(/[\x21-\x7e]*)?$",
        description="http(s); private and loopback addresses are refused unless the operator "
        "allows them.",
    )
    tenant: Name = Field(description="Whose endpoint it is (a tenant key: its own).")
    events: list[EventType] | None = Field(default=None, min_length=1)


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    webhook_id: int
    state: DeliveryStateName
    attempts: int
    next_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, delivery: b.Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            event_id=f"evt_{delivery.event_id}",
            event_type=delivery.event_type,
            webhook_id=delivery.destination_id,
            state=delivery.state.value,
            attempts=delivery.attempts,
            next_at=delivery.next_at,
            last_status=delivery.last_status,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
        )


class DeliveriesOut(BaseModel):
    deliveries: list[DeliveryOut]


class AttemptOut(BaseModel):
    at: datetime
    status: int | None
    error: str | None


class AttemptsOut(BaseModel):
    attempts: list[AttemptOut]


# -- endpoints --------------------------------------------------------------------------------


@router.get("/webhooks", response_model=WebhooksOut, operation_id="listWebhooks")
def list_webhooks(app: App, caller: Caller) -> WebhooksOut:
    """Endpoints (a tenant key: its own), never their secrets."""
    return WebhooksOut(
        webhooks=[WebhookOut.of(d) for d in app.events.webhooks(tenant=caller.tenant)]
    )


@router.post(
    "/webhooks", status_code=201, response_model=NewWebhookOut, operation_id="createWebhook"
)
def create_webhook(body: WebhookIn, app: App, caller: Caller) -> NewWebhookOut:
    """Add an endpoint; the response holds its signing secret, shown only this once."""
    tenant = caller.tenant_filter(body.tenant) or body.tenant
    try:
        return NewWebhookOut.of(app.events.add_webhook(tenant, body.url, event_types=body.events))
    except PrivateTargetError as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except ConfigurationError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None


@router.get("/webhooks/{webhook_id:job_id}", response_model=WebhookOut, operation_id="getWebhook")
def get_webhook(webhook_id: IdPath, app: App, caller: Caller) -> WebhookOut:
    return WebhookOut.of(_webhook(app, caller, webhook_id))


@router.delete("/webhooks/{webhook_id:job_id}", status_code=204, operation_id="deleteWebhook")
def delete_webhook(webhook_id: IdPath, app: App, caller: Caller) -> Response:
    """Remove an endpoint and its deliveries."""
    _webhook(app, caller, webhook_id)
    app.events.remove(webhook_id, tenant=caller.tenant)
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id:job_id}/enable", response_model=WebhookOut, operation_id="enableWebhook"
)
def enable_webhook(webhook_id: IdPath, app: App, caller: Caller) -> WebhookOut:
    """Enable a disabled endpoint again; its pending deliveries resume."""
    _webhook(app, caller, webhook_id)
    return WebhookOut.of(_found(app.events.enable(webhook_id, tenant=caller.tenant), webhook_id))


@router.post(
    "/webhooks/{webhook_id:job_id}/rotate-secret",
    response_model=NewWebhookOut,
    operation_id="rotateWebhookSecret",
)
def rotate_secret(webhook_id: IdPath, app: App, caller: Caller) -> NewWebhookOut:
    """A new signing secret (shown only this once); requests carry the old and the new
    signature until ``finish-rotation``."""
    _webhook(app, caller, webhook_id)
    new = app.events.rotate_secret(webhook_id, tenant=caller.tenant)
    return NewWebhookOut.of(_found(new, webhook_id))


@router.post(
    "/webhooks/{webhook_id:job_id}/finish-rotation",
    response_model=WebhookOut,
    operation_id="finishWebhookRotation",
)
def finish_rotation(webhook_id: IdPath, app: App, caller: Caller) -> WebhookOut:
    """Sign with the newest secret only."""
    _webhook(app, caller, webhook_id)
    done = app.events.finish_rotation(webhook_id, tenant=caller.tenant)
    return WebhookOut.of(_found(done, webhook_id))


@router.get("/deliveries", response_model=DeliveriesOut, operation_id="listDeliveries")
def list_deliveries(
    app: App,
    caller: Caller,
    *,
    webhook_id: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None,
    state: DeliveryStateName | None = None,
    before: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveriesOut:
    """Deliveries to webhooks, newest first (a tenant key: to its own endpoints)."""
    hooks = {d.id for d in app.events.webhooks(tenant=caller.tenant)}
    found = app.events.deliveries(
        tenant=caller.tenant,
        destination_id=webhook_id,
        state=None if state is None else b.DeliveryState(state),
        before_id=before,
        limit=limit,
    )
    return DeliveriesOut(deliveries=[DeliveryOut.of(d) for d in found if d.destination_id in hooks])


@router.get(
    "/deliveries/{delivery_id:job_id}/attempts",
    response_model=AttemptsOut,
    operation_id="listDeliveryAttempts",
)
def list_attempts(delivery_id: IdPath, app: App, caller: Caller) -> AttemptsOut:
    """The delivery log of one delivery: every attempt's response code or error."""
    _delivery(app, caller, delivery_id)
    found = app.events.attempts(delivery_id, tenant=caller.tenant)
    return AttemptsOut(
        attempts=[AttemptOut(at=a.at, status=a.status, error=a.error) for a in found]
    )


@router.post(
    "/deliveries/{delivery_id:job_id}/redeliver",
    response_model=DeliveryOut,
    operation_id="redeliver",
)
def redeliver(delivery_id: IdPath, app: App, caller: Caller) -> DeliveryOut:
    """Send a delivery again now, with a fresh retry schedule."""
    _delivery(app, caller, delivery_id)
    again = app.events.redeliver(delivery_id, tenant=caller.tenant)
    if again is None:
        raise ApiError(404, "not_found", f"delivery {delivery_id} not found")
    return DeliveryOut.of(again)


def _webhook(app: Workhorse, caller: Principal, webhook_id: int) -> b.Destination:
    """The caller's webhook ``webhook_id``, else 404."""
    found = app.events.get(webhook_id, tenant=caller.tenant)
    if found is None or found.kind is not b.DestinationKind.WEBHOOK:
        raise ApiError(404, "not_found", f"webhook {webhook_id} not found")
    return found


def _found(value: T | None, webhook_id: int) -> T:
    if value is None:
        raise ApiError(404, "not_found", f"webhook {webhook_id} not found")
    return value


def _delivery(app: Workhorse, caller: Principal, delivery_id: int) -> b.Delivery:
    """The caller's delivery ``delivery_id`` to a webhook, else 404."""
    before = min(delivery_id + 1, _MAX_ID)
    found = app.events.deliveries(tenant=caller.tenant, before_id=before, limit=1)
    if not found or found[0].id != delivery_id:
        raise ApiError(404, "not_found", f"delivery {delivery_id} not found")
    _webhook(app, caller, found[0].destination_id)
    return found[0]
