"""Single-job enqueue from concurrent producers: P processes each enqueue their share of N jobs
one call at a time, from Python (``noop.enqueue()``) or over HTTP (``POST /v1/jobs`` to one
``workhorse api`` process), all released together once connected."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event, Semaphore

from workhorse.app import Workhorse
from workhorse.bench.tasks import app as bench_app
from workhorse.bench.tasks import noop
from workhorse.bench.throughput import all_jobs, children_cpu, percentiles

Send = Callable[[bool], None]
"""``send(warm_up)``: enqueue one job (on the warm-up queue when ``warm_up``)."""

START_TIMEOUT = 60.0
"""Seconds the producers (and the API) get to connect before the clock starts."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EnqueueResult:
    enqueue_per_s: float
    call_ms: dict[str, float]
    lost: int
    cpu_s: float


@dataclass(frozen=True, slots=True)
class Target:
    """Where a producer sends its jobs: the database (``api`` None), or an API at
    (host, port, bearer token)."""

    database_url: str
    queue: str
    api: tuple[str, int, str] | None = None
    tenant: str | None = None


@dataclass(frozen=True, slots=True)
class Share:
    """What one producer measured: its first call's start and its last call's end (monotonic:
    one clock for every process on Linux) and each call's duration in milliseconds."""

    began: float
    ended: float
    calls_ms: list[float]


def run_once(
    database_url: str, *, jobs: int, producers: int, http: bool, tenants: int = 1
) -> EnqueueResult:
    """One run on its own queue: ``producers`` processes connect, then enqueue ``jobs`` jobs
    between them, one per call; the stored jobs are counted afterwards, not assumed. With
    several ``tenants``, producer i enqueues for tenant ``bench-{i % tenants}``."""
    app = bench_app
    app.close()
    app.database_url = database_url
    # As the throughput run does; and a database without the schema fails here, with its
    # message, rather than in the producer processes.
    app.admin.storage_vacuum()
    target = Target(database_url, f"bench-{uuid.uuid4().hex[:8]}")
    cpu_before = children_cpu()
    if http:
        with _api(app, database_url) as api:
            target = Target(database_url, target.queue, api)
            shares = _produce_all(target, jobs, producers, tenants)
    else:
        shares = _produce_all(target, jobs, producers, tenants)
    cpu_s = children_cpu() - cpu_before
    stored = len(all_jobs(app, target.queue))
    app.close()
    span = max(share.ended for share in shares) - min(share.began for share in shares)
    calls = sorted(ms for share in shares for ms in share.calls_ms)
    return EnqueueResult(
        enqueue_per_s=jobs / span, call_ms=percentiles(calls), lost=jobs - stored, cpu_s=cpu_s
    )


def _produce_all(target: Target, jobs: int, producers: int, tenants: int) -> list[Share]:
    """Start the producers, wait until each has connected, release them together and collect
    what each measured."""
    context = multiprocessing.get_context("spawn")
    ready = context.Semaphore(0)
    go = context.Event()
    results: Queue[Share] = context.Queue()
    counts = [jobs // producers + (1 if i < jobs % producers else 0) for i in range(producers)]
    targets = [
        replace(target, tenant=f"bench-{i % tenants:06d}" if tenants > 1 else None)
        for i in range(producers)
    ]
    procs = [
        context.Process(target=produce, args=(where, count, ready, go, results), daemon=True)
        for where, count in zip(targets, counts, strict=True)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            if not ready.acquire(timeout=START_TIMEOUT):
                raise TimeoutError("the bench producers did not connect in time")
        go.set()
        return [results.get(timeout=600) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def produce(target: Target, count: int, ready: Semaphore, go: Event, out: Queue[Share]) -> None:
    """One producer process: connect (one warm-up job on a queue of its own), say so, wait for
    the start, then enqueue ``count`` jobs one call at a time."""
    send = _http_sender(target) if target.api else _python_sender(target)
    send(True)
    ready.release()
    go.wait()
    calls: list[float] = []
    began = time.monotonic()
    for _ in range(count):
        started = time.perf_counter()
        send(False)
        calls.append((time.perf_counter() - started) * 1000)
    out.put(Share(began, time.monotonic(), calls))


def _python_sender(target: Target) -> Send:
    bench_app.database_url = target.database_url
    tenant = {"tenant": target.tenant} if target.tenant else {}
    task = noop.with_options(queue=target.queue, **tenant)
    warm = noop.with_options(queue=f"{target.queue}-warm-up", **tenant)

    def send(warm_up: bool) -> None:
        (warm if warm_up else task).enqueue()

    return send


def _http_sender(target: Target) -> Send:
    assert target.api is not None
    host, port, token = target.api
    conn = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    tenant = {"tenant": target.tenant} if target.tenant else {}
    bodies = {
        warm_up: json.dumps({"task": "noop", "queue": queue, **tenant})
        for warm_up, queue in ((False, target.queue), (True, f"{target.queue}-warm-up"))
    }

    def send(warm_up: bool) -> None:
        conn.request("POST", "/v1/jobs", bodies[warm_up], headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 201:
            raise RuntimeError(f"POST /v1/jobs: {response.status} {body[:200]!r}")

    return send


@contextmanager
def _api(app: Workhorse, database_url: str) -> Iterator[tuple[str, int, str]]:
    """A ``workhorse api`` process on a free loopback port with an admin key of its own:
    (host, port, token) once it answers ``/readyz``."""
    token = app.admin.create_api_key(tenant=None, name="bench").token
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workhorse", "api", "--app", "workhorse.bench.tasks:app",
         "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "WORKHORSE_DATABASE_URL": database_url},
    )  # fmt: skip
    try:
        _wait_ready(port, proc)
        yield ("127.0.0.1", port, token)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bench API exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the bench API did not start in time")
