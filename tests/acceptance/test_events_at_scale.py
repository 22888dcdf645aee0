"""5,000 jobs through a real worker with two sinks configured (a signed webhook and NATS): every
terminal job produces exactly one delivered event per sink (receivers de-duplicate by event id;
none may be missing)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import nats
import pytest
from nats.aio.msg import Msg

from integration.events_support import FAST, Receiver, dispatch_until
from pgtest import postgres_schema
from workhorse import Workhorse
from workhorse.worker import Worker, WorkerConfig

JOBS = 5_000
NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Workhorse]:
    monkeypatch.setenv("WORKHORSE_WEBHOOKS_ALLOW_PRIVATE", "1")
    with postgres_schema() as url:
        app = Workhorse(url)
        app.migrate()
        app.dispatcher_config = FAST
        yield app
        app.close()


@pytest.mark.timeout(300)
def test_every_terminal_job_of_5000_has_one_event_per_sink(app: Workhorse) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"

    @app.task(max_attempts=1)
    def job(n: int) -> int:
        if n % 10 == 0:
            raise ValueError("every tenth job dies")
        return n

    async def run(receiver: Receiver) -> dict[str, list[int]]:
        client = await nats.connect(NATS_URL)
        on_nats: list[tuple[str, int]] = []

        async def take(msg: Msg) -> None:
            event = json.loads(msg.data)
            on_nats.append((event["id"], event["job"]["id"]))

        await client.subscribe(f"workhorse.{tenant}.>", cb=take)
        await client.flush()
        app.events.add_sink(NATS_URL, tenant=tenant)
        receiver.secret = app.events.add_webhook(tenant, receiver.url).secret
        bound = job.with_options(tenant=tenant)
        await asyncio.to_thread(app.enqueue_many, [bound.prepare(n) for n in range(JOBS)])
        started = time.monotonic()
        worker = Worker(app, WorkerConfig(burst=True, concurrency=20))
        await worker.run_async()
        ran = time.monotonic() - started
        await dispatch_until(app, lambda: not app.events.backlog(), timeout=120)
        await client.flush()
        await asyncio.sleep(0.5)
        await client.close()
        print(
            f"\n{JOBS} jobs, two sinks: ran {ran:.1f}s, delivered {time.monotonic() - started:.1f}s"
        )
        return {
            "nats": [job_id for _, job_id in dict(on_nats).items()],
            "webhook": [e["job"]["id"] for e in {e["id"]: e for e in receiver.received}.values()],
        }

    with Receiver() as receiver:
        delivered = asyncio.run(run(receiver))
    all_jobs = {j.id for j in app.list_jobs(tenant=tenant, limit=JOBS + 1)}
    assert len(all_jobs) == JOBS
    for sink, job_ids in delivered.items():
        assert sorted(job_ids) == sorted(all_jobs), f"{sink}: missing or extra events"
    assert receiver.bad_signatures == 0
    events = app.events.history(tenant=tenant, limit=JOBS + 1)
    assert len(events) == JOBS
    assert sum(e.type == "job.dead" for e in events) == JOBS // 10
