"""RabbitMQ: each event published to a durable topic exchange (``--exchange``, default
``workhorse``) with routing key ``<tenant>.<type>``, persistent, ``message_id`` the event id.
The channel uses publisher confirms: a send counts only once the broker acked it. A connection
that fails is dropped, and the next attempt connects afresh."""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from workhorse.backends import base as b
from workhorse.events.senders import SendResult, subject_token

TIMEOUT = 10.0
DEFAULT_EXCHANGE = "workhorse"


def routing_key(event: b.Event) -> str:
    return f"{subject_token(event.tenant)}.{event.type}"


class AmqpSender:
    def __init__(self, *, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout
        self._connections: dict[str, AbstractConnection] = {}
        self._connecting = asyncio.Lock()
        """One connection and channel per URL, however many sends start at once."""
        self._exchanges: dict[tuple[str, str], tuple[AbstractChannel, AbstractExchange]] = {}

    async def send(self, destination: b.Destination, event: b.Event, body: bytes) -> SendResult:
        name = str(destination.options.get("exchange") or DEFAULT_EXCHANGE)
        message = aio_pika.Message(
            body,
            message_id=event.public_id,
            content_type="application/json",
            type=event.type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            exchange = await self._exchange(destination.url, name)
            await exchange.publish(
                message, routing_key=routing_key(event), mandatory=False, timeout=self._timeout
            )
        except Exception as exc:
            await self._drop(destination.url)
            return SendResult(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return SendResult(delivered=True)

    async def _exchange(self, url: str, name: str) -> AbstractExchange:
        async with self._connecting:
            return await self._declare(url, name)

    async def _declare(self, url: str, name: str) -> AbstractExchange:
        known = self._exchanges.get((url, name))
        if known is not None and not known[0].is_closed:
            return known[1]
        connection = self._connections.get(url)
        if connection is None or connection.is_closed:
            connection = await aio_pika.connect(url, timeout=self._timeout)
            self._connections[url] = connection
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            name, aio_pika.ExchangeType.TOPIC, durable=True, timeout=self._timeout
        )
        self._exchanges[(url, name)] = (channel, exchange)
        return exchange

    async def _drop(self, url: str) -> None:
        self._exchanges = {key: v for key, v in self._exchanges.items() if key[0] != url}
        connection = self._connections.pop(url, None)
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                await connection.close()

    async def aclose(self) -> None:
        for url in list(self._connections):
            await self._drop(url)
