"""listener: wake-ups for idle workers (PostgreSQL: LISTEN/NOTIFY; SQLite: data_version).
Through a transaction-pooling PgBouncer without a direct listen URL there is none: workers poll.
"""

from __future__ import annotations

from workhorse.backends import Backend

from .support import Jobs


def test_listener_wakes_up_on_a_new_job_in_its_queues(
    backend: Backend, jobs: Jobs, backend_url: str
) -> None:
    listener = backend.listener(["default"])
    if "pgbouncer=on" in backend_url:
        assert listener is None, "LISTEN through a transaction pooler would hear nothing"
        return
    assert listener is not None
    try:
        assert not listener.wait(0.05), "nothing was committed yet"
        jobs.insert(queue="default")
        assert listener.wait(10)
        assert not listener.wait(0.05), "one commit wakes the listener once"
    finally:
        listener.close()
