"""How workers and serve start their event dispatcher: a `workhorse dispatch` child whose
database URL travels in its environment, at a lower CPU priority; serve's workers dispatch
nothing themselves."""

from __future__ import annotations

import os

from workhorse.events.process import NICE, DispatchCommand
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
