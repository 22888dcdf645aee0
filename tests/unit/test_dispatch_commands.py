"""How workers and serve start their event dispatcher: a `workhorse dispatch` child whose
database URL travels in its environment, at a lower CPU priority; serve's workers dispatch
nothing themselves."""

from __future__ import annotations

import asyncio
import os

import pytest

from workhorse.backoff import Backoff
from workhorse.events import process
from workhorse.events.process import NICE, DispatchCommand, DispatchProcess
from workhorse.serve.supervisor import WorkerCommand

URL = "postgresql://user:secret@db.internal/jobs"


def test_a_dispatcher_child_gets_the_database_url_through_its_environment_only() -> None:
    command = DispatchCommand(database_url=URL)
    argv = command.argv()
    assert argv[2:4] == ["workhorse", "dispatch"]
    assert not any("secret" in arg for arg in argv)
    assert command.env()["WORKHORSE_DATABASE_URL"] == URL


def test_a_dispatcher_child_stops_with_its_parent_and_yields_the_cpu_to_jobs() -> None:
    command = DispatchCommand(database_url=URL)
    argv = command.argv()
    assert argv[argv.index("--parent-pid") + 1] == str(os.getpid())
    assert command.nice == NICE > 0


def test_serve_starts_its_workers_without_a_dispatcher_of_their_own() -> None:
    command = WorkerCommand(
        app_path="jobs:app", database_url=URL, concurrency=1, queues="default", log_level="info"
    )
    argv = command.argv(0)
    assert argv[argv.index("--dispatch") + 1] == "off"


class _Unstartable(DispatchCommand):
    def argv(self) -> list[str]:
        return ["/nonexistent/workhorse-dispatch"]


def test_a_dispatcher_child_that_cannot_start_is_retried_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed start (no executable, no memory, no process slots) must not end the worker or
    serve task that keeps the child running."""

    async def main() -> bool:
        task = asyncio.create_task(DispatchProcess(_Unstartable(database_url=URL)).run())
        async with asyncio.timeout(10):
            while not task.done() and "restarting" not in caplog.text:
                await asyncio.sleep(0.01)
        alive = not task.done()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return alive

    assert asyncio.run(main())


class _Exits(DispatchCommand):
    def argv(self) -> list[str]:
        return ["/bin/true"]


@pytest.mark.parametrize(("healthy_after", "resets"), [(0.0, True), (3600.0, False)])
def test_a_child_that_ran_long_enough_restarts_from_the_first_backoff_step(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    healthy_after: float,
    resets: bool,
) -> None:
    """A crash after a long healthy run is a first crash again: the restart delay does not keep
    the length it reached after crashes long ago."""
    monkeypatch.setattr(process, "HEALTHY_RUN", healthy_after)
    steps: list[int] = []

    class _Counted(Backoff):
        def next(self) -> float:
            steps.append(self.failures)
            super().next()
            return 0.01

    monkeypatch.setattr(process, "Backoff", _Counted)

    async def main() -> None:
        task = asyncio.create_task(DispatchProcess(_Exits(database_url=URL)).run())
        async with asyncio.timeout(20):
            while len(steps) < 3:
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert steps[:3] == ([0, 0, 0] if resets else [0, 1, 2])
