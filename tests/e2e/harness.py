"""The browser tests' harness: an app with a few tasks, served by uvicorn on a free loopback port,
a real worker in a thread when a job must run, and screenshots kept as test artefacts."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from playwright.sync_api import Page

from workhorse import Worker, WorkerConfig, Workhorse
from workhorse.apikeys import create_key
from workhorse.jobs import JobState

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

REFRESHED = 15_000
"""What a test waits (ms) for a page to update by itself: its refresh period (5 s), a request that
a loaded machine answers slowly, and the next period."""

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], *, timeout: float = 10, what: str) -> T:
    """Poll ``check`` until it returns something truthy and return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Switches:
    """What the tasks do, set by the test: ``fail`` makes ``charge`` raise; ``block`` jobs wait
    until ``release`` is set."""

    fail: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


def make_app(url: str, switches: Switches) -> Workhorse:
    app = Workhorse(url)

    @app.task
    def add(a: int, b: int) -> int:
        return a + b

    @app.task(max_attempts=1)
    def charge(amount_cents: int) -> dict[str, int]:
        if switches.fail.is_set():
            raise ValueError(f"card declined for {amount_cents} cents")
        return {"charged": amount_cents}

    @app.task(max_attempts=1)
    def fail(kind: str) -> None:
        errors: dict[str, type[Exception]] = {"value": ValueError, "key": KeyError}
        raise errors[kind](f"failed on purpose ({kind})")

    @app.task
    def block() -> str:
        switches.release.wait(20)
        return "released"

    return app


class WorkerThread:
    """A real worker (the same ``Worker`` the CLI runs) on its own event loop in a thread."""

    def __init__(self, app: Workhorse) -> None:
        config = WorkerConfig(
            concurrency=4,
            poll_interval=timedelta(milliseconds=20),
            heartbeat_interval=timedelta(seconds=1),
            grace=timedelta(seconds=5),
            maintenance=False,
        )
        self.worker = Worker(app, config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete,
            args=(self.worker.run_async(),),
            name="e2e-worker",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self.worker.stop)
        self._thread.join(15)
        assert not self._thread.is_alive(), "the worker did not stop"
        self._loop.close()


@dataclass
class Site:
    """One test's served app: its URL, keys, task switches and jobs."""

    url: str
    app: Workhorse
    switches: Switches
    _keys: dict[str | None, str] = field(default_factory=dict)

    def key(self, tenant: str | None) -> str:
        """A (cached) API key for ``tenant``; None for an admin key."""
        if tenant not in self._keys:
            made = create_key(self.app.backend, tenant=tenant, name="e2e", now=self.app.clock())
            self._keys[tenant] = made.token
        return self._keys[tenant]

    @contextmanager
    def worker(self) -> Iterator[WorkerThread]:
        thread = WorkerThread(self.app)
        thread.start()
        try:
            yield thread
        finally:
            thread.stop()

    def enqueue(self, task: str, *args: object, tenant: str = "acme") -> int:
        return self.app.enqueue(task, list(args), tenant=tenant).id

    def state(self, job_id: int) -> JobState:
        return self.app.get_job(job_id).state

    def ended(self, job_id: int) -> bool:
        return self.state(job_id).terminal

    def wait_state(self, job_id: int, state: JobState, timeout: float = 10) -> None:
        wait_until(
            lambda: self.state(job_id) is state, timeout=timeout, what=f"job {job_id} {state}"
        )

    def run_to_end(self, *ids: int) -> None:
        """Run these jobs with a worker until each has ended."""
        with self.worker():
            for job_id in ids:
                wait_until(partial(self.ended, job_id), what=f"job {job_id} to end")

    def dead(self, task: str = "charge", *args: object, tenant: str = "acme") -> int:
        """A job that died on a worker (``charge`` jobs fail while ``switches.fail`` is set)."""
        self.switches.fail.set()
        job_id = self.enqueue(task, *(args or (1234,)), tenant=tenant)
        self.run_to_end(job_id)
        self.switches.fail.clear()
        assert self.state(job_id) is JobState.DEAD
        return job_id


def shoot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
