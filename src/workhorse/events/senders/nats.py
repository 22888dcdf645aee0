"""NATS: each event on subject ``workhorse.<tenant>.<type>``, with header ``Nats-Msg-Id`` set to
the event id (JetStream de-duplicates by it).

When a JetStream stream covers the subject, the publish waits for the stream's ack; otherwise the
message goes out on core NATS and a flush (the server's PONG) confirms the server has it. A
connection that fails is dropped, and the next attempt connects afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import nats
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from workhorse.backends import base as b
from workhorse.events.senders import SendResult, subject_token

TIMEOUT = 5.0
STREAM_CACHE = 30.0
"""Seconds a subject's stream (or its absence) is remembered."""


def subject(event: b.Event) -> str:
    return f"workhorse.{subject_token(event.tenant)}.{event.type}"


class NatsSender:
    def __init__(self, *, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout
        self._clients: dict[str, Client] = {}
        self._connecting = asyncio.Lock()
        """One connection per URL, however many sends start at once."""
        self._streams: dict[tuple[str, str], tuple[float, bool]] = {}
        self._flushes: dict[str, asyncio.Future[None]] = {}
        """Per URL, the flush the next publishes wait for, until it goes out."""

    async def send(self, destination: b.Destination, event: b.Event, body: bytes) -> SendResult:
        try:
            await self._publish(destination.url, subject(event), event.public_id, body)
        except Exception as exc:
            await self._drop(destination.url)
            return SendResult(delivered=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return SendResult(delivered=True)

    async def _publish(self, url: str, subj: str, msg_id: str, body: bytes) -> None:
        client = await self._client(url)
        headers = {"Nats-Msg-Id": msg_id}
        if await self._has_stream(url, client, subj):
            await client.jetstream().publish(subj, body, timeout=self._timeout, headers=headers)
        else:
            await client.publish(subj, body, headers=headers)
            await self._flush(url, client)

    async def _flush(self, url: str, client: Client) -> None:
        """Wait for a flush (PING, then the server's PONG) sent after our publish. Sends of one
        round share one: the first schedules it, those that publish before it goes out wait for
        the same answer, which confirms all of them (one connection keeps its order)."""
        flush = self._flushes.get(url)
        if flush is None:
            flush = asyncio.ensure_future(self._flush_soon(url, client))
            # Its waiters may all be gone (cancelled) when it fails: its error is theirs to
            # report, never a "Future exception was never retrieved" of its own.
            flush.add_done_callback(_retrieved)
            self._flushes[url] = flush
        await asyncio.shield(flush)

    async def _flush_soon(self, url: str, client: Client) -> None:
        await asyncio.sleep(0)  # let the other sends of this round publish first
        del self._flushes[url]  # a publish from now on needs the next flush
        await client.flush(timeout=max(1, round(self._timeout)))

    async def _client(self, url: str) -> Client:
        async with self._connecting:
            return await self._connect(url)

    async def _connect(self, url: str) -> Client:
        client = self._clients.get(url)
        if client is None or not client.is_connected:
            if client is not None:  # lost, but its socket may still be open: release it first
                await self._drop(url)
            client = await nats.connect(
                url,
                allow_reconnect=False,
                connect_timeout=self._timeout,
                error_cb=_ignore,
                disconnected_cb=_quiet,
                closed_cb=_quiet,
            )
            self._clients[url] = client
        return client

    async def _has_stream(self, url: str, client: Client, subj: str) -> bool:
        known = self._streams.get((url, subj))
        if known is not None and time.monotonic() - known[0] < STREAM_CACHE:
            return known[1]
        try:
            await client.jetstream().find_stream_name_by_subject(subj)
            found = True
        except NotFoundError:
            found = False
        self._streams[(url, subj)] = (time.monotonic(), found)
        return found

    async def _drop(self, url: str) -> None:
        client = self._clients.pop(url, None)
        self._streams = {key: v for key, v in self._streams.items() if key[0] != url}
        if client is not None and not client.is_closed:
            with contextlib.suppress(Exception):  # already broken: nothing to release
                await client.close()

    async def aclose(self) -> None:
        for url in list(self._clients):
            await self._drop(url)


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


async def _ignore(exc: Exception) -> None:
    """Connection errors surface as the failed send; nats-py would log them again."""


async def _quiet() -> None:
    """No log line per disconnect: the failed send says it."""
