"""job_ended: which of some jobs have ended."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs


def test_job_ended_returns_the_terminal_jobs_among_those_asked(jobs: Jobs) -> None:
    states = {state: jobs.in_state(state, queue=state.value) for state in JobState}
    asked = set(states.values()) | {999_999}
    ended = jobs.backend.job_ended(b.JobEndedParams(ids=asked))
    assert ended == sorted(states[state] for state in JobState if state.terminal)


def test_job_ended_of_nothing_is_nothing(jobs: Jobs) -> None:
    assert jobs.backend.job_ended(b.JobEndedParams(ids=[])) == []
