"""ended_watch: a process learns that jobs ended without polling each one."""

from __future__ import annotations

import time
from collections.abc import Collection

from workhorse.backends import base as b

from .support import Jobs, at, failure, success


def _seen(watch: b.EndedWatch, *job_ids: int, within: float = 10.0) -> bool:
    """Whether the watch reports every one of ``job_ids`` (or that anything may have ended)
    within ``within`` seconds."""
    deadline = time.monotonic() + within
    left = set(job_ids)
    while time.monotonic() < deadline:
        ended: Collection[int] | None = watch.wait(0.5)
        if ended is None:
            return True
        left -= set(ended)
        if not left:
            return True
    return False


def test_ended_watch_reports_jobs_that_finish(jobs: Jobs) -> None:
    done, dead = jobs.running(now=at(0)), jobs.running(now=at(0), max_attempts=1)
    watch = jobs.backend.ended_watch()
    try:
        jobs.finish(success(done), failure(dead), now=at(1))
        assert _seen(watch, done.id, dead.id)
    finally:
        watch.close()


def test_ended_watch_reports_cancelled_jobs(jobs: Jobs) -> None:
    job_id = jobs.insert()
    watch = jobs.backend.ended_watch()
    try:
        jobs.backend.job_cancel(b.JobCancelParams(id=job_id, now=at(1)))
        assert _seen(watch, job_id)
    finally:
        watch.close()


def test_ended_watch_stays_quiet_without_ends(jobs: Jobs, backend_url: str) -> None:
    watch = jobs.backend.ended_watch()
    try:
        if "pgbouncer=on" in backend_url:
            assert watch.wait(0.05) is None, "without LISTEN every wait asks for a check"
            return
        assert watch.wait(0.05) == set()
    finally:
        watch.close()
