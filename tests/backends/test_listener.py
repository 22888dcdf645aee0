"""listener: optional wake-ups for idle workers; a backend without them returns None."""

from __future__ import annotations

from workhorse.backends import Backend

from .support import Jobs


def test_listener_wakes_up_on_a_new_job_in_its_queues(backend: Backend, jobs: Jobs) -> None:
    listener = backend.listener(["default"])
    if backend.url.startswith("sqlite"):
        assert listener is None, "SQLite has no notifications: its workers poll"
        return
    assert listener is not None
    try:
        jobs.insert(queue="default")
        assert listener.wait(10)
    finally:
        listener.close()
