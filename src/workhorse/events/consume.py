"""``workhorse consume``: events in from a broker, each acknowledged only once its jobs are
committed (``app.emit``), so a crash before the commit leaves the message to be redelivered, and
a redelivered message enqueues nothing new (its event id was stored with its jobs).

A message is a JSON object ``{"type", "id", "tenant", "data"}``, each part optional: the type
falls back to the NATS subject or AMQP routing key, the id to ``Nats-Msg-Id`` or the AMQP
``message_id`` and then to a hash of the bytes, the tenant to ``--tenant``. Any other body is
the event's data as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workhorse.events.triggers import content_id

if TYPE_CHECKING:
    from workhorse.app import Workhorse

log = logging.getLogger("workhorse.consume")

FETCH = 20
"""Messages taken from the broker at a time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Incoming:
    type: str
    id: str
    tenant: str | None
    data: Any


def parse(body: bytes, *, topic: str, message_id: str | None, tenant: str | None) -> Incoming:
    """The event a message carries (see the module's docstring for the fallbacks)."""
    try:
        decoded: Any = json.loads(body)
    except ValueError:
        decoded = body.decode("utf-8", "replace")
    envelope = decoded if isinstance(decoded, dict) and "type" in decoded else {"data": decoded}
    return Incoming(
        type=str(envelope.get("type") or topic),
        id=str(envelope.get("id") or message_id or content_id(body)),
        tenant=envelope.get("tenant") or tenant,
        data=envelope.get("data"),
    )


async def receive(app: Workhorse, incoming: Incoming) -> int:
    """Store the event and its jobs (a thread: the database call blocks); how many jobs are
    new."""
    received = await asyncio.to_thread(
        app.emit, incoming.type, incoming.data, tenant=incoming.tenant, event_id=incoming.id
    )
    log.info(
        "event %s (%s): %s",
        incoming.id,
        incoming.type,
        f"{len(received.jobs)} job(s)" if received.created else "seen before",
    )
    return len(received.jobs) if received.created else 0


async def consume_nats(
    app: Workhorse, url: str, subject: str, *, tenant: str | None, durable: str, stop: asyncio.Event
) -> None:
    """From a JetStream stream that covers ``subject`` (a durable pull consumer, acked after
    the commit); without one, from core NATS (which has no acknowledgements)."""
    import nats
    from nats.js.errors import NotFoundError

    client = await nats.connect(url)
    try:
        js = client.jetstream()
        try:
            await js.find_stream_name_by_subject(subject)
        except NotFoundError:
            await _core_nats(app, client, subject, tenant, stop)
            return
        pull = await js.pull_subscribe(subject, durable=durable)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
                for message in await pull.fetch(FETCH, timeout=1):
                    await _handle_nats(app, message, tenant)
    finally:
        await client.close()


async def _handle_nats(app: Workhorse, message: Any, tenant: str | None) -> None:
    headers = message.headers or {}
    incoming = parse(
        message.data, topic=message.subject, message_id=headers.get("Nats-Msg-Id"), tenant=tenant
    )
    try:
        await receive(app, incoming)
    except Exception:
        log.exception("event %s not stored; the broker will redeliver it", incoming.id)
        await message.nak()
        return
    await message.ack()


async def _core_nats(
    app: Workhorse, client: Any, subject: str, tenant: str | None, stop: asyncio.Event
) -> None:
    log.warning("no JetStream stream covers %s: core NATS, messages are not acknowledged", subject)
    subscription = await client.subscribe(subject)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            message = await subscription.next_msg(timeout=1)
            headers = message.headers or {}
            incoming = parse(
                message.data, topic=message.subject, message_id=headers.get("Nats-Msg-Id"),
                tenant=tenant,
            )  # fmt: skip
            await receive(app, incoming)


async def consume_amqp(
    app: Workhorse, url: str, queue_name: str, *, tenant: str | None, stop: asyncio.Event
) -> None:
    """From a RabbitMQ queue (declared durable when missing): acked after the commit, rejected
    back to the queue when storing fails."""
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=FETCH)
        queue = await channel.declare_queue(queue_name, durable=True)
        while not stop.is_set():
            message = await queue.get(fail=False, timeout=5)
            if message is None:
                await _wait(stop, 0.2)
                continue
            incoming = parse(
                message.body, topic=message.routing_key or "", message_id=message.message_id,
                tenant=tenant,
            )  # fmt: skip
            try:
                await receive(app, incoming)
            except Exception:
                log.exception("event %s not stored; it goes back to the queue", incoming.id)
                await message.nack(requeue=True)
                continue
            await message.ack()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def run(consumer: Callable[[asyncio.Event], Any]) -> None:
    """Run ``consumer(stop)`` until SIGTERM or SIGINT sets ``stop``."""
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await consumer(stop)

    asyncio.run(main())
