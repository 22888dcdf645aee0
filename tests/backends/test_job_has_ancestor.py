"""job_has_ancestor: whether a job depends on another, directly or down the graph."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs


def _has(jobs: Jobs, job_id: int, ancestor: int) -> bool:
    return jobs.backend.job_has_ancestor(b.JobHasAncestorParams(id=job_id, ancestor=ancestor))


def test_job_has_ancestor_follows_the_graph_up_and_only_up(jobs: Jobs) -> None:
    root = jobs.insert()
    child = jobs.insert(after=[root], state=JobState.BLOCKED)
    grandchild = jobs.insert(after=[child], state=JobState.BLOCKED)
    stranger = jobs.insert()
    assert _has(jobs, child, root)
    assert _has(jobs, grandchild, root)
    assert not _has(jobs, root, grandchild)
    assert not _has(jobs, grandchild, stranger)
    assert not _has(jobs, root, root)
