"""NATS and RabbitMQ sinks: events published after a transition, confirmed before they count as
delivered, and none lost when the broker goes away mid-run (a private nats-server stopped and
started; RabbitMQ reached through a TCP proxy that is cut and restored, since a private
RabbitMQ node is too heavy to start per test)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import nats
import pytest
from nats.aio.msg import Msg

from workhorse import Workhorse
from workhorse.events.dispatcher import Dispatcher

from .brokers import PrivateNats, TcpProxy
from .events_support import FAST, database, direct_db

# Connections that a stopped broker or a cut proxy broke leave their sockets to the garbage
# collector (not yet traced to the client library or the proxy): a ResourceWarning here is not a
# failure of delivery, which the assertions check.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

SHARED_NATS = "nats://127.0.0.1:4222"
SHARED_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workhorse]:
    with database(request.param, tmp_path) as url:
        app = Workhorse(url)
        app.migrate()

        @app.task()
        def work() -> None:
            """Never run: the tests end its jobs by hand."""

        yield app
        app.close()


@pytest.fixture
def tenant() -> str:
    """A tenant of this test only: its subjects and routing keys are the test's own."""
    return f"t{uuid.uuid4().hex[:10]}"


def _end_jobs(app: Workhorse, tenant: str, count: int) -> list[int]:
    ids = [app.enqueue("work", tenant=tenant).id for _ in range(count)]
    for job_id in ids:
        app.cancel(job_id)
    return ids


def _event_ids(app: Workhorse, tenant: str) -> set[str]:
    return {event.public_id for event in app.events.history(tenant=tenant, limit=10_000)}


async def _until_delivered(app: Workhorse, timeout: float = 60.0) -> None:
    """Wait for the outbox to empty while a dispatcher runs."""
    async with asyncio.timeout(timeout):
        while await asyncio.to_thread(app.events.backlog):
            await asyncio.sleep(0.05)


async def _dispatching(app: Workhorse) -> asyncio.Task[None]:
    dispatcher = Dispatcher(app.backend, direct_db(), app.clock, config=FAST)
    return asyncio.create_task(dispatcher.run())


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel the dispatcher and wait until it has closed its senders: cancelled again by
    ``asyncio.run``'s shutdown while closing, it would leave a broker's socket to the garbage
    collector, and a later test would fail on the ResourceWarning."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# -- NATS -------------------------------------------------------------------------------------


async def _stream_ids(url: str, stream: str) -> list[str]:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        last = (await js.stream_info(stream)).state.last_seq
        messages = [await js.get_msg(stream, seq) for seq in range(1, last + 1)]
        return [json.loads(message.data or b"{}")["id"] for message in messages]
    finally:
        await client.close()


async def _add_stream(url: str, stream: str, tenant: str) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().add_stream(name=stream, subjects=[f"workhorse.{tenant}.>"])
    finally:
        await client.close()


async def _delete_stream(url: str, stream: str) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


def test_core_nats_gets_every_event_on_its_subject(app: Workhorse, tenant: str) -> None:
    async def run() -> list[tuple[str, str]]:
        client = await nats.connect(SHARED_NATS)
        got: list[tuple[str, str]] = []

        async def take(msg: Msg) -> None:
            got.append((msg.subject, json.loads(msg.data)["id"]))

        await client.subscribe(f"workhorse.{tenant}.>", cb=take)
        app.events.add_sink(SHARED_NATS)
        _end_jobs(app, tenant, 10)
        task = await _dispatching(app)
        await _until_delivered(app)
        await client.flush()
        await asyncio.sleep(0.2)
        await _stop(task)
        await client.close()
        return got

    got = asyncio.run(run())
    assert {event_id for _, event_id in got} == _event_ids(app, tenant)
    assert {subject for subject, _ in got} == {f"workhorse.{tenant}.job.cancelled"}


def test_jetstream_keeps_every_event_across_a_server_restart(
    app: Workhorse, tenant: str, tmp_path: Path
) -> None:
    server = PrivateNats(tmp_path / "jetstream")
    server.start()
    stream = f"WH_{tenant}"

    async def run() -> list[str]:
        await _add_stream(server.url, stream, tenant)
        app.events.add_sink(server.url)
        task = await _dispatching(app)
        _end_jobs(app, tenant, 30)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(server.stop)
        _end_jobs(app, tenant, 30)
        await asyncio.sleep(0.5)
        assert await asyncio.to_thread(app.events.backlog), "nothing waited for the broker"
        await asyncio.to_thread(server.start)
        await _until_delivered(app)
        await _stop(task)
        return await _stream_ids(server.url, stream)

    try:
        received = asyncio.run(run())
    finally:
        server.stop()
    assert set(received) == _event_ids(app, tenant)
    assert len(_event_ids(app, tenant)) == 60


# -- RabbitMQ ---------------------------------------------------------------------------------


async def _bind_queue(
    exchange: str, tenant: str
) -> tuple[aio_pika.abc.AbstractConnection, aio_pika.abc.AbstractQueue]:
    connection = await aio_pika.connect(SHARED_AMQP)
    channel = await connection.channel()
    declared = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(declared, routing_key=f"{tenant}.#")
    return connection, queue


async def _drain(queue: aio_pika.abc.AbstractQueue) -> list[tuple[str, str]]:
    got = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        got.append((message.routing_key or "", json.loads(message.body)["id"]))
    return got


async def _delete_exchange(exchange: str) -> None:
    connection = await aio_pika.connect(SHARED_AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(exchange)


def _amqp_run(app: Workhorse, tenant: str, proxy: TcpProxy | None) -> list[tuple[str, str]]:
    exchange = f"workhorse_test_{tenant}"

    async def run() -> list[tuple[str, str]]:
        connection, queue = await _bind_queue(exchange, tenant)
        url = SHARED_AMQP if proxy is None else f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        app.events.add_sink(url, exchange=exchange)
        task = await _dispatching(app)
        _end_jobs(app, tenant, 30)
        if proxy is not None:
            await asyncio.sleep(0.3)
            await asyncio.to_thread(proxy.cut)
            _end_jobs(app, tenant, 30)
            await asyncio.sleep(0.5)
            assert await asyncio.to_thread(app.events.backlog), "nothing waited for the broker"
            await asyncio.to_thread(proxy.restore)
        await _until_delivered(app)
        await _stop(task)
        await asyncio.sleep(0.2)
        got = await _drain(queue)
        await connection.close()
        await _delete_exchange(exchange)
        return got

    return asyncio.run(run())


def test_rabbitmq_gets_every_event_with_its_routing_key(app: Workhorse, tenant: str) -> None:
    got = _amqp_run(app, tenant, None)
    assert {event_id for _, event_id in got} == _event_ids(app, tenant)
    assert {key for key, _ in got} == {f"{tenant}.job.cancelled"}


def test_rabbitmq_loses_nothing_when_the_connection_is_cut(app: Workhorse, tenant: str) -> None:
    proxy = TcpProxy(("127.0.0.1", 5672))
    proxy.restore()
    try:
        got = _amqp_run(app, tenant, proxy)
    finally:
        proxy.close()
    assert {event_id for _, event_id in got} == _event_ids(app, tenant)
    assert len(_event_ids(app, tenant)) == 60
