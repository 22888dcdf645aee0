"""job_parent_results: a job's parents, with their step keys and results."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, success


def test_job_parent_results_lists_each_parent_with_its_key_and_result(jobs: Jobs) -> None:
    keyed = jobs.running(now=at(0))
    plain = jobs.running(now=at(0))
    child = jobs.insert(after=[keyed.id, plain.id], state=JobState.BLOCKED)
    jobs.finish(success(keyed, '{"rows": 3}'), success(plain, "7"), now=at(1))
    found = jobs.backend.job_parent_results(b.JobParentResultsParams(id=child))
    assert found == [
        b.ParentResult(id=keyed.id, step_key=None, result={"rows": 3}),
        b.ParentResult(id=plain.id, step_key=None, result=7),
    ]


def test_job_parent_results_of_a_job_without_parents_is_empty(jobs: Jobs) -> None:
    assert jobs.backend.job_parent_results(b.JobParentResultsParams(id=jobs.insert())) == []
