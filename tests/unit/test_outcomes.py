"""Turning the end of an attempt into an Outcome: pure, with time and policy as inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workhorse.backends.base import ClaimedJob, ErrorRecord
from workhorse.errors import WorkerLostError
from workhorse.jobs import JobState
from workhorse.outcomes import error_record, failed, failure, succeeded
from workhorse.retry import RetryPolicy

NOW = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(base=timedelta(seconds=5), factor=2, max_delay=timedelta(minutes=1))


def _job(attempt: int = 1, max_attempts: int = 3) -> ClaimedJob:
    return ClaimedJob(
        id=42,
        tenant="acme",
        queue="default",
        task="work",
        args=[],
        kwargs={},
        attempt=attempt,
        max_attempts=max_attempts,
        timeout=None,
        lease_token="token-1",
    )


def _raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:
        return caught


@pytest.mark.parametrize(
    ("result", "stored"),
    [(None, "null"), ({"n": [1, 2.5, "x"]}, '{"n":[1,2.5,"x"]}'), ("ok", '"ok"')],
)
def test_succeeded_with_json_result(result: Any, stored: str) -> None:
    outcome = succeeded(_job(attempt=2), result, NOW, POLICY)
    assert outcome.state is JobState.SUCCEEDED
    assert (outcome.id, outcome.lease_token, outcome.attempt) == (42, "token-1", 2)
    assert outcome.result_json == stored
    assert outcome.error is None
    assert outcome.run_at is None


def test_succeeded_with_non_json_result_is_a_retryable_failure() -> None:
    result: Any = {"ids": {1, 2}}
    outcome = succeeded(_job(attempt=1), result, NOW, POLICY)
    assert outcome.state is JobState.RETRYING
    assert outcome.result_json is None
    assert outcome.error is not None
    assert outcome.error.type == "NotJSONError"
    assert outcome.error.message.startswith("result['ids'] is a set")
    assert outcome.run_at is not None
    assert NOW <= outcome.run_at <= NOW + POLICY.ceiling(1)


def test_succeeded_with_non_json_result_on_the_last_attempt_is_dead() -> None:
    raw: Any = b"raw"
    outcome = succeeded(_job(attempt=3, max_attempts=3), raw, NOW, POLICY)
    assert outcome.state is JobState.DEAD
    assert outcome.run_at is None
    assert outcome.error is not None
    assert outcome.error.type == "NotJSONError"


@pytest.mark.parametrize(("attempt", "max_attempts"), [(1, 1), (3, 3), (4, 3)])
def test_failed_on_the_last_attempt_is_dead_without_run_at(attempt: int, max_attempts: int) -> None:
    outcome = failed(_job(attempt, max_attempts), _raised(KeyError("gone")), NOW, POLICY)
    assert outcome.state is JobState.DEAD
    assert outcome.run_at is None
    assert outcome.attempt == attempt
    assert outcome.result_json is None
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.message) == ("KeyError", "'gone'")


@pytest.mark.parametrize(("attempt", "max_attempts"), [(1, 2), (1, 3), (2, 3), (7, 20)])
def test_failed_with_attempts_left_is_retrying_after_now(attempt: int, max_attempts: int) -> None:
    for _ in range(50):
        outcome = failed(_job(attempt, max_attempts), _raised(ValueError("bad")), NOW, POLICY)
        assert outcome.state is JobState.RETRYING
        assert outcome.run_at is not None
        assert NOW <= outcome.run_at <= NOW + POLICY.ceiling(attempt)
        assert outcome.error is not None
        assert (outcome.error.type, outcome.error.message) == ("ValueError", "bad")


def test_failed_records_the_traceback() -> None:
    outcome = failed(_job(), _raised(RuntimeError("boom")), NOW, POLICY)
    assert outcome.error is not None
    assert outcome.error.traceback is not None
    assert "Traceback (most recent call last)" in outcome.error.traceback
    assert "RuntimeError: boom" in outcome.error.traceback
    assert "_raised" in outcome.error.traceback


def test_failure_is_what_the_reaper_builds() -> None:
    error = ErrorRecord(type="WorkerLostError", message="lost", traceback=None)
    retrying = failure(
        job_id=1, lease_token="t", attempt=1, max_attempts=2, error=error, now=NOW, policy=POLICY
    )
    dead = failure(
        job_id=1, lease_token="t", attempt=2, max_attempts=2, error=error, now=NOW, policy=POLICY
    )
    assert (retrying.state, dead.state) == (JobState.RETRYING, JobState.DEAD)
    assert retrying.error == dead.error == error
    assert retrying.run_at is not None
    assert dead.run_at is None


def test_error_record_of_an_exception_never_raised() -> None:
    record = error_record(WorkerLostError("worker w1 stopped heartbeating"))
    assert record.type == "WorkerLostError"
    assert record.message == "worker w1 stopped heartbeating"
    assert record.traceback is not None
    assert "WorkerLostError" in record.traceback


def test_error_record_bounds_message_and_traceback() -> None:
    record = error_record(_raised(ValueError("x" * 50_000)))
    assert record.message == "x" * 2000
    assert record.traceback is not None
    assert len(record.traceback) == 20_001
    assert record.traceback.startswith("…")
    assert record.traceback.endswith("x\n")
