"""The API tests' harness: a real uvicorn server on a free loopback port, keys, and jobs driven
to any state through the storage Protocol (no worker needed)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from workhorse import Workhorse
from workhorse.api import ApiSettings
from workhorse.api.server import EmbeddedServer, listen, server_config
from workhorse.apikeys import create_key
from workhorse.backends import base as b
from workhorse.jobs import JobState


class Clock:
    """A clock the test moves: the app (and so the API) reads the time from it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def make_app(url: str, clock: Clock) -> Workhorse:
    """An app with the tasks the tests enqueue."""
    app = Workhorse(url, clock=clock)

    @app.task
    def add(a: int, b: int) -> int:
        return a + b

    @app.task(queue="mail", max_attempts=5, priority=3)
    def send(to: str) -> None:
        del to

    @app.task(max_attempts=1)
    def fail() -> None:
        raise ValueError("always")

    return app


@contextmanager
def running_api(app: Workhorse, settings: ApiSettings | None = None) -> Iterator[str]:
    """Serve the API of ``app`` on a free loopback port, in a thread; yields its base URL."""
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = server_config(app, settings=settings, log_level="warning", access_log=False)
    server = EmbeddedServer(config)

    def serve() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the API server thread died while starting"
        assert time.monotonic() < deadline, "the API server did not start within 10 s"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # uvicorn takes ~0.2 s to stop (its loop ticks and a fixed pause): let it stop in the
        # background while the next test runs; join_stopped_servers waits for them all.
        server.should_exit = server.force_exit = True
        _stopping.append(thread)


@contextmanager
def served_api(store_url: str, clock: Clock, settings: ApiSettings | None = None) -> Iterator[Api]:
    """The API of a fresh app on ``store_url`` with ``settings``, served on a free loopback
    port; the app and the clients made through it are closed afterwards."""
    app = make_app(store_url, clock)
    try:
        with running_api(app, settings) as url:
            api = Api(url=url, app=app, clock=clock)
            try:
                yield api
            finally:
                api.close()
    finally:
        app.close()


_stopping: list[threading.Thread] = []


def join_stopped_servers() -> None:
    """Wait for every server thread told to stop; fail if one hangs."""
    while _stopping:
        thread = _stopping.pop()
        thread.join(10)
        assert not thread.is_alive(), "an API server thread did not stop"


@dataclass
class Api:
    """One test's API: the server's URL, its app and a key per tenant on demand."""

    url: str
    app: Workhorse
    clock: Clock
    _keys: dict[str | None, str] = field(default_factory=dict)
    _clients: list[httpx.Client] = field(default_factory=list)
    _tokens: itertools.count[int] = field(default_factory=itertools.count)

    def key(self, tenant: str | None) -> str:
        """A (cached) key for ``tenant``; None for an admin key."""
        if tenant not in self._keys:
            self._keys[tenant] = self.new_key(tenant)
        return self._keys[tenant]

    def new_key(self, tenant: str | None) -> str:
        return create_key(self.app.backend, tenant=tenant, name="test", now=self.clock()).token

    def client(self, tenant: str | None = "acme", *, token: str | None = None) -> httpx.Client:
        """An HTTP client authenticated as ``tenant`` (None: admin), or with ``token``."""
        headers = {"Authorization": f"Bearer {token or self.key(tenant)}"}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def anonymous(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()

    # -- jobs, driven through the storage Protocol ---------------------------------------------

    def enqueue(self, task: str = "add", tenant: str = "acme", **options: Any) -> int:
        args: dict[str, list[object]] = {"add": [1, 2], "send": ["x@example.com"], "fail": []}
        return self.app.enqueue(task, args[task], tenant=tenant, **options).id

    def finish(self, job_id: int, state: JobState, error_type: str = "ValueError") -> None:
        """Run ``job_id`` (queued) to succeeded or dead, as a worker would."""
        job = self.app.get_job(job_id)
        claimed = self.app.backend.job_claim(
            b.JobClaimParams(
                worker_id="test-worker",
                queues=[job.queue],
                limit=1000,
                lease_token=f"lease-{next(self._tokens)}",
                lease_for=timedelta(seconds=30),
                now=self.clock(),
            )
        )
        mine = [c for c in claimed if c.id == job_id]
        assert mine, f"job {job_id} could not be claimed"
        self._finish(mine[0], state, error_type)
        others = [c.id for c in claimed if c.id != job_id]
        self.app.backend.job_release(
            b.JobReleaseParams(
                ids=others,
                lease_token_by_id={c.id: c.lease_token for c in claimed},
                now=self.clock(),
            )
        )

    def _finish(self, job: b.ClaimedJob, state: JobState, error_type: str) -> None:
        error = None
        if state is JobState.DEAD:
            error = b.ErrorRecord(type=error_type, message="boom", traceback="Traceback: ...")
        outcome = b.Outcome(
            id=job.id,
            lease_token=job.lease_token,
            attempt=job.attempt,
            state=state,
            result_json="3" if state is JobState.SUCCEEDED else None,
            error=error,
        )
        written = self.app.backend.job_finish_many(
            b.JobFinishManyParams(outcomes=[outcome], now=self.clock())
        )
        assert written == [job.id]

    def dead(
        self,
        task: str = "add",
        tenant: str = "acme",
        error_type: str = "ValueError",
        **options: Any,
    ) -> int:
        """A job of ``task`` whose only attempt failed with ``error_type``."""
        job_id = self.enqueue(task, tenant, max_attempts=1, **options)
        self.finish(job_id, JobState.DEAD, error_type)
        return job_id


def error_of(response: httpx.Response) -> tuple[int, str]:
    """The status and error code of an error response, checking its shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return response.status_code, body["error"]["code"]
