"""The promoter: scheduled and retrying jobs whose time has come become queued."""

from __future__ import annotations

from datetime import datetime

from workhorse.backends import base as b

BATCH = 5000


def promote(backend: b.Backend, now: datetime) -> int:
    """Promote due jobs in batches until none is left; returns how many."""
    total = 0
    while True:
        count = backend.job_promote(b.JobPromoteParams(now=now, limit=BATCH))
        total += count
        if count < BATCH:
            return total
