"""The NATS sender's shared flush: one failing after every send waiting for it was cancelled
(a dispatcher stopping mid-round) leaves no unretrieved error behind. A connection found lost
is closed before the next one opens, so its socket is not left to the garbage collector."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError

from workhorse.backends import base as b
from workhorse.events.senders import nats as nats_sender

URL = "nats://127.0.0.1:4222"


class _JetStream:
    async def find_stream_name_by_subject(self, subject: str) -> str:
        raise NotFoundError


class _Client:
    """Connected; no stream covers any subject; its flush fails after a moment."""

    is_connected = True
    is_closed = False

    def jetstream(self) -> _JetStream:
        return _JetStream()

    async def publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        """Accepted (core NATS confirms nothing until the flush)."""

    async def flush(self, timeout: float) -> None:
        await asyncio.sleep(0.05)
        raise ConnectionError("the server went away")

    async def close(self) -> None:
        """Nothing to release."""


def _event() -> b.Event:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return b.Event(id=1, tenant="acme", type="job.succeeded", job_id=7, data={}, occurred_at=when)


def test_a_flush_that_fails_after_its_waiters_are_cancelled_leaves_no_stray_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def connect(*args: Any, **kwargs: Any) -> _Client:
        return _Client()

    monkeypatch.setattr(nats, "connect", connect)

    async def scenario() -> list[dict[str, Any]]:
        reported: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(
            lambda _, context: reported.append(context)
        )
        sender = nats_sender.NatsSender()
        destination = b.Destination(
            id=1,
            tenant="acme",
            kind=b.DestinationKind.NATS,
            url=URL,
            options={},
            event_types=None,
            secrets=(),
            disabled_at=None,
            disabled_reason=None,
            created_at=_event().occurred_at,
        )
        send = asyncio.ensure_future(sender.send(destination, _event(), b"{}"))
        await asyncio.sleep(0.01)  # published; waiting for the flush
        send.cancel()
        await asyncio.sleep(0.1)  # the flush fails with nobody waiting
        gc.collect()
        await asyncio.sleep(0)
        return reported

    assert asyncio.run(scenario()) == []


def test_a_lost_connection_is_closed_before_the_next_one_opens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[_Lost] = []

    class _Lost(_Client):
        """Connected at first; the server goes away later (no reconnect)."""

        is_connected = True
        closed = False

        async def close(self) -> None:
            self.closed = True

    async def connect(*args: Any, **kwargs: Any) -> _Lost:
        opened.append(_Lost())
        return opened[-1]

    monkeypatch.setattr(nats, "connect", connect)

    async def scenario() -> None:
        sender = nats_sender.NatsSender()
        first = await sender._client(URL)
        opened[0].is_connected = False  # lost, not closed by anyone yet
        second = await sender._client(URL)
        assert second is not first
        await sender.aclose()

    asyncio.run(scenario())
    assert [client.closed for client in opened] == [True, True]
