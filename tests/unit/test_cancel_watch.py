"""CancelWatch when the watch cannot open: the job is left to the heartbeat, nothing is lost in
a background task."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import pytest

from workhorse.backends import base as b
from workhorse.dbcall import DbCall
from workhorse.waiting import Waiters
from workhorse.worker import cancels
from workhorse.worker.cancels import CancelWatch


class _DownWaiters:
    """A watch whose database is away: every registration fails."""

    def __init__(self) -> None:
        self.unregistered: list[int] = []

    def register(self, job_id: int, wake: Callable[[], None]) -> None:
        raise ConnectionError("database unavailable")

    def unregister(self, job_id: int, wake: Callable[[], None]) -> None:
        self.unregistered.append(job_id)


def test_a_watch_that_cannot_open_leaves_the_job_to_the_heartbeat(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cancels, "WATCH_AFTER", 0.01)
    woken: list[bool] = []
    waiters = _DownWaiters()

    async def run() -> set[int]:
        backend = cast(b.Backend, object())
        db = cast(DbCall, None)
        watch = CancelWatch(cast(Waiters, waiters), backend, db, lambda: woken.append(True))
        watch.started(7)
        async with asyncio.timeout(10):
            while "cannot watch job 7" not in caplog.text:
                await asyncio.sleep(0.01)
        watch.forget(7)
        watched: set[int] = cast(Any, watch)._watched
        return watched

    with caplog.at_level(logging.WARNING, logger="workhorse.worker"):
        watched = asyncio.run(run())
    assert watched == set()
    assert waiters.unregistered == [], "nothing was registered, so nothing is unregistered"
    assert woken == []
    assert "cannot watch job 7 for a cancel" in caplog.text
