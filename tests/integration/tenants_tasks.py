"""The tasks the tenant integration tests run in real worker processes.

Each test copies this file into its own directory, the workers' working directory, and starts
them with ``--app tenants_tasks:app``; the test process builds its own app on the same database
with :func:`make_app` to enqueue by task name. ``hold`` appends a ``start`` and an ``end`` event
to ``tenant-events.log`` in the working directory, each with one ``os.write`` on an ``O_APPEND``
descriptor (atomic for lines this short), so concurrent workers never interleave them.
"""

from __future__ import annotations

import os
import time

from workhorse import RetryPolicy, Workhorse, current_job

EVENTS = "tenant-events.log"
NO_KEY = "-"


def record(event: str, key: str | None) -> None:
    """Append ``<event> <time.time()> <job id> <tenant> <key> <pid>`` to the event log."""
    job = current_job()
    line = f"{event} {time.time():.6f} {job.job_id} {job.tenant} {key or NO_KEY} {os.getpid()}\n"
    fd = os.open(EVENTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def make_app(database_url: str | None = None) -> Workhorse:
    """An app with this module's tasks (one attempt each: a failure must show, not hide)."""
    app = Workhorse(database_url, default_max_attempts=1, default_retry=RetryPolicy())

    @app.task
    def hold(seconds: float, key: str | None = None) -> None:
        """Record the start, run for ``seconds``, record the end."""
        record("start", key)
        time.sleep(seconds)
        record("end", key)

    @app.task
    def spin(seconds: float) -> None:
        """Just take ``seconds`` of a slot (fair-share measurements read the jobs table)."""
        time.sleep(seconds)

    return app


app = make_app()  # the CLI points it at --database-url
