"""The dispatcher: claims due deliveries, sends them, records each attempt.

Every worker runs one. On PostgreSQL any number of them share the outbox (claims skip each
other's rows); on SQLite, one writer, only the maintenance leader's dispatches. A claim holds
each job's oldest pending event per destination only, so a job's events arrive in order. Sends
run concurrently on the worker's event loop with bounded timeouts: a slow or dead destination
grows the outbox and never holds a job up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from workhorse.backends import base as b
from workhorse.backoff import Backoff
from workhorse.dbcall import DbCall
from workhorse.events import envelope, targets
from workhorse.events.schedule import BROKER_SCHEDULE, RetrySchedule, next_attempt_at
from workhorse.events.senders import Sender, SendResult

if TYPE_CHECKING:
    from workhorse.app import Workhorse

log = logging.getLogger("workhorse.events")

A = TypeVar("A")
T = TypeVar("T")

K = b.DestinationKind


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatcherConfig:
    batch: int = 100
    idle: timedelta = timedelta(milliseconds=500)
    """The pause after a round that found fewer than ``batch`` deliveries due."""
    pace: timedelta = timedelta(milliseconds=100)
    """The pause after a full round: the dispatcher shares its worker's process, and must
    leave the jobs most of it (at most ``batch`` deliveries per ``pace`` per worker)."""
    lease: timedelta = timedelta(seconds=60)
    """How long a claim holds its deliveries; longer than any send may take."""
    webhook_timeout: float = 10.0
    webhooks: RetrySchedule = field(default_factory=RetrySchedule)
    brokers: RetrySchedule = BROKER_SCHEDULE
    allow_private: bool = field(default_factory=targets.private_allowed)


def default_senders(config: DispatcherConfig) -> dict[b.DestinationKind, Sender]:
    """A sender per kind (imported here: a worker without events loads no client library)."""
    from workhorse.events.senders.amqp import AmqpSender
    from workhorse.events.senders.nats import NatsSender
    from workhorse.events.senders.webhook import WebhookSender

    webhook = WebhookSender(timeout=config.webhook_timeout, allow_private=config.allow_private)
    return {K.WEBHOOK: webhook, K.NATS: NatsSender(), K.AMQP: AmqpSender()}


class Dispatcher:
    """Delivers the outbox until cancelled; ``active`` says whether this process may dispatch
    now (on SQLite: while it leads maintenance)."""

    def __init__(
        self,
        backend: b.Backend,
        db: DbCall,
        clock: Callable[[], datetime],
        *,
        config: DispatcherConfig | None = None,
        active: Callable[[], bool] = lambda: True,
        senders: Mapping[b.DestinationKind, Sender] | None = None,
    ) -> None:
        self.config = config or DispatcherConfig()
        self._backend = backend
        self._db = db
        self._clock = clock
        self._active = active
        self._senders = dict(senders) if senders is not None else default_senders(self.config)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Dispatch until cancelled or, gracefully, until ``stop`` is set: the round under way
        ends first, so its deliveries are recorded rather than left claimed until their lease
        runs out. Errors are logged and retried with backoff, never raised."""
        stop = stop or asyncio.Event()
        backoff = Backoff(cap=30.0)
        idle, pace = self.config.idle.total_seconds(), self.config.pace.total_seconds()
        try:
            while not stop.is_set():
                try:
                    busy = self._active() and await self.tick() >= self.config.batch
                    backoff.reset()
                    await _pause(stop, pace if busy else idle)
                except Exception as exc:
                    delay = backoff.next()
                    log.warning("event dispatch failed (%s); retrying in %.2fs", exc, delay)
                    await _pause(stop, delay)
        finally:
            await self.aclose()

    async def tick(self) -> int:
        """One round: claim what is due, send it, record the outcomes; returns how many."""
        params = b.DeliveryClaimParams(
            now=self._clock(),
            limit=self.config.batch,
            lease=self.config.lease,
            token=uuid.uuid4().hex,
        )
        claimed = await self._db(self._backend.delivery_claim, params)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._deliver(d, params.token) for d in claimed))
        finish = b.DeliveryFinishManyParams(outcomes=outcomes, now=self._clock())
        await self._db(self._backend.delivery_finish_many, finish)
        return len(claimed)

    async def _deliver(self, delivery: b.ClaimedDelivery, token: str) -> b.DeliveryOutcome:
        result = await self._send(delivery)
        if result.delivered:
            return b.DeliveryOutcome(
                id=delivery.id, token=token, delivered=True, status=result.status
            )
        webhook = delivery.destination.kind is K.WEBHOOK
        schedule = self.config.webhooks if webhook else self.config.brokers
        next_at = next_attempt_at(schedule, delivery.attempt, self._clock())
        return b.DeliveryOutcome(
            id=delivery.id,
            token=token,
            delivered=False,
            status=result.status,
            error=result.error,
            next_at=next_at,
            disable_reason=_disable_reason(delivery, result) if next_at is None else None,
        )

    async def _send(self, delivery: b.ClaimedDelivery) -> SendResult:
        sender = self._senders[delivery.destination.kind]
        try:
            return await sender.send(
                delivery.destination, delivery.event, envelope.body(delivery.event)
            )
        except Exception as exc:  # a sender's bug must not stop the others' deliveries
            log.exception("sending event %s failed", delivery.event.public_id)
            return SendResult(delivered=False, error=f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        for sender in self._senders.values():
            try:
                await sender.aclose()
            except Exception:
                log.exception("closing an event sender failed")


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _disable_reason(delivery: b.ClaimedDelivery, result: SendResult) -> str:
    return (
        f"gave up on {delivery.event.public_id} after {delivery.attempt} attempts; "
        f"last: {result.error or result.status}"
    )


def standalone(app: Workhorse) -> Dispatcher:
    """A dispatcher of its own for ``app`` (``workhorse dispatch``): database calls on threads,
    never gated by leadership (on SQLite, claims take turns through the write lock)."""

    def db(fn: Callable[[A], T], params: A, /) -> Awaitable[T]:
        return asyncio.to_thread(fn, params)

    return Dispatcher(app.backend, db, app.clock, config=app.dispatcher_config)


def needs_leader(url: str) -> bool:
    """Whether dispatch must be left to the maintenance leader (SQLite's single writer)."""
    return url.startswith("sqlite")
