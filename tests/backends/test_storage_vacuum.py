"""storage_vacuum: tidies storage without changing any job."""

from __future__ import annotations

from workhorse.jobs import JobState

from .support import Jobs


def test_storage_vacuum_keeps_every_job_as_it_was(jobs: Jobs) -> None:
    ids = {state: jobs.in_state(state, queue=state.value) for state in JobState}
    before = {state: jobs.get(job_id) for state, job_id in ids.items()}
    jobs.backend.storage_vacuum()
    jobs.backend.storage_vacuum()  # twice: nothing left to do is fine too
    assert {state: jobs.get(job_id) for state, job_id in ids.items()} == before
