"""``workhorse consume`` as a subprocess: messages from NATS JetStream and RabbitMQ become one
job per subscribed task; the same message delivered again enqueues nothing new."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

import aio_pika
import nats
import pytest
from nats.aio.client import Client

from workhorse import Workhorse

from ._harness import Proc, Workspace

EVENTS_APP = """
from workhorse import Workhorse

app = Workhorse()


@app.task(on_event="order.created")
def ship(event: dict) -> None:
    del event


@app.task(on_event=["order.created", "order.paid"])
def bill(event: dict) -> None:
    del event
"""

NATS_URL = "nats://127.0.0.1:4222"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def events_app(workspace: Workspace) -> Workhorse:
    (workspace.root / "eventsapp.py").write_text(EVENTS_APP)
    assert workspace.cli("migrate").returncode == 0
    return Workhorse(workspace.db_url)


def _wait_for(condition: Callable[[], bool], proc: Proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.popen.poll() is None, proc.stderr_path.read_text()[-3000:]
        assert time.monotonic() < deadline, proc.stderr_path.read_text()[-3000:]
        time.sleep(0.1)


def _tasks(app: Workhorse) -> list[tuple[str, str]]:
    return sorted((job.task, job.tenant) for job in app.list_jobs(limit=100))


def _consume(workspace: Workspace, *args: str) -> Proc:
    return workspace.start(
        "consume", *args, "--app", "eventsapp:app", "--tenant", "acme",
        "--database-url", workspace.db_url, name="consume",
    )  # fmt: skip


async def _nats(action: Callable[[Client], object]) -> None:
    client = await nats.connect(NATS_URL)
    try:
        await action(client)  # type: ignore[misc]
    finally:
        await client.close()


def test_consume_from_jetstream_enqueues_once_per_event(
    workspace: Workspace, events_app: Workhorse
) -> None:
    tag = uuid.uuid4().hex[:10]
    stream, subject = f"IN_{tag}", f"orders{tag}.>"
    asyncio.run(_nats(lambda c: c.jetstream().add_stream(name=stream, subjects=[subject])))
    try:
        proc = _consume(workspace, NATS_URL, "--subject", subject, "--durable", f"wh{tag}")

        def body(event_id: str) -> bytes:
            return json.dumps({"type": "order.created", "id": event_id, "data": {}}).encode()

        async def publish(client: Client) -> None:
            js = client.jetstream()
            # The same event twice, as two stream messages (JetStream's own de-duplication
            # by Nats-Msg-Id does not apply): as a producer's retry brings it.
            for msg_id, event_id in (("m1", "order-42"), ("m2", "order-42"), ("m3", "order-43")):
                await js.publish(f"orders{tag}.eu", body(event_id), headers={"Nats-Msg-Id": msg_id})

        asyncio.run(_nats(publish))
        _wait_for(lambda: len(_tasks(events_app)) == 4, proc)
        time.sleep(1)
        proc.stop()
        assert _tasks(events_app) == [("bill", "acme")] * 2 + [("ship", "acme")] * 2
    finally:
        asyncio.run(_nats(lambda c: c.jetstream().delete_stream(stream)))
        events_app.close()


def test_consume_from_rabbitmq_acks_after_commit_and_enqueues_once(
    workspace: Workspace, events_app: Workhorse
) -> None:
    queue = f"workhorse_in_{uuid.uuid4().hex[:10]}"

    async def publish() -> None:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            await channel.declare_queue(queue, durable=True)
            for message_id in ("m-1", "m-1", "m-2"):
                body = json.dumps({"type": "order.paid", "tenant": "globex"}).encode()
                message = aio_pika.Message(body, message_id=message_id)
                await channel.default_exchange.publish(message, routing_key=queue)

    async def left_and_delete() -> int:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, durable=True)
            left = declared.declaration_result.message_count or 0
            await channel.queue_delete(queue)
            return left

    asyncio.run(publish())
    proc = _consume(workspace, AMQP_URL, "--queue", queue)
    try:
        _wait_for(lambda: len(_tasks(events_app)) == 2, proc)
        time.sleep(1)
        proc.stop()
        assert _tasks(events_app) == [("bill", "globex")] * 2
    finally:
        assert asyncio.run(left_and_delete()) == 0
        events_app.close()


def test_consume_needs_a_subject_or_a_queue(workspace: Workspace, events_app: Workhorse) -> None:
    result = workspace.run("consume", NATS_URL, "--queue", "x", "--app", "eventsapp:app")
    assert result.returncode == 2 and "--subject" in result.stderr
    events_app.close()
