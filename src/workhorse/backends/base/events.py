"""The storage contract's events: the outbox (events a transition wrote, their deliveries and the
delivery log), the destinations events go to, and events received (triggers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from workhorse.backends.base.jobs import InsertedJob, NewJob
from workhorse.types import JSON


class DestinationKind(StrEnum):
    WEBHOOK = "webhook"
    NATS = "nats"
    AMQP = "amqp"


class DeliveryState(StrEnum):
    PENDING = "pending"
    """Not yet confirmed by the destination; retried at ``next_at``."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up after the retry schedule ran out; delivered again only by hand."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """A webhook endpoint of one tenant, or a broker sink (of one tenant, or of every tenant)."""

    id: int
    tenant: str | None
    """None: an operator's sink that receives every tenant's events."""
    kind: DestinationKind
    url: str
    options: dict[str, JSON]
    """Per kind: ``exchange`` (RabbitMQ)."""
    event_types: tuple[str, ...] | None
    """The event types it receives; None for every type."""
    secrets: tuple[str, ...]
    """Webhook signing secrets, newest first (two during a rotation)."""
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationInsertParams:
    tenant: str | None
    kind: DestinationKind
    url: str
    options: dict[str, JSON]
    event_types: tuple[str, ...] | None
    secrets: tuple[str, ...]
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationListParams:
    """Destinations, by id; of ``tenant`` only when set, of ``kinds`` only when set."""

    tenant: str | None = None
    kinds: tuple[DestinationKind, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationDeleteParams:
    """Delete destination ``id`` (of ``tenant`` only, when set) with its deliveries."""

    id: int
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationUpdateParams:
    """Enable destination ``id`` again (``enable``) and/or replace its signing secrets."""

    id: int
    tenant: str | None = None
    enable: bool = False
    secrets: tuple[str, ...] | None = None
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    id: int
    tenant: str
    type: str
    job_id: int | None
    data: JSON
    """For a job's event, the job as the API shows it (bounded); else what was emitted."""
    occurred_at: datetime

    @property
    def public_id(self) -> str:
        """The id receivers de-duplicate by."""
        return f"evt_{self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EventListParams:
    """Events after ``after_id``, oldest first; of ``tenant`` only when set."""

    tenant: str | None = None
    after_id: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    id: int
    event_id: int
    event_type: str
    destination_id: int
    tenant: str
    job_id: int | None
    state: DeliveryState
    attempts: int
    next_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryClaimParams:
    """Claim up to ``limit`` due deliveries to enabled destinations under ``token`` until
    ``now + lease``; of each job, only its oldest pending event per destination."""

    now: datetime
    limit: int
    lease: timedelta
    token: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedDelivery:
    id: int
    attempt: int
    """This attempt's number, from 1."""
    event: Event
    destination: Destination


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOutcome:
    """One attempt's result. Not delivered and no ``next_at``: given up (``failed``)."""

    id: int
    token: str
    delivered: bool
    status: int | None = None
    """The HTTP response code, when there was one."""
    error: str | None = None
    next_at: datetime | None = None
    disable_reason: str | None = None
    """Disable the destination, saying why (it kept failing)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryFinishManyParams:
    outcomes: Sequence[DeliveryOutcome]
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryListParams:
    """Deliveries, newest first; each filter applies when set."""

    tenant: str | None = None
    destination_id: int | None = None
    state: DeliveryState | None = None
    before_id: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRedeliverParams:
    """Send delivery ``id`` (of ``tenant`` only, when set) again now, with a fresh schedule."""

    id: int
    tenant: str | None = None
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttempt:
    at: datetime
    status: int | None
    error: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttemptListParams:
    """The attempts of delivery ``id`` (of ``tenant`` only, when set), oldest first."""

    id: int
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryBacklogParams:
    """Pending deliveries created before ``now``."""

    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class BacklogCount:
    kind: DestinationKind
    pending: int
    oldest_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventPruneParams:
    """Delete up to ``limit`` events that occurred before ``occurred_before`` and that no
    destination still waits for (every delivery delivered or failed), with their deliveries
    and delivery log."""

    occurred_before: datetime
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EventReceiveParams:
    """Record event ``event_id`` of ``tenant`` and insert ``jobs`` for it, once: a second call
    with the same (tenant, event_id) inserts nothing."""

    tenant: str
    event_id: str
    type: str
    jobs: Sequence[NewJob]
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedEvent:
    created: bool
    """False when the event had been received before (its jobs are the first call's)."""
    jobs: list[InsertedJob]
