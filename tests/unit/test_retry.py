"""RetryPolicy and next_attempt_at: exponential backoff with full jitter, as a pure function."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workhorse.retry import RetryPolicy, next_attempt_at

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)

pure = settings(database=None, deadline=None, max_examples=200)

policies = st.builds(
    RetryPolicy,
    base=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=1)),
    factor=st.floats(min_value=1, max_value=10, allow_nan=False),
    max_delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
)
attempts = st.integers(min_value=1, max_value=500)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 2), (2, 4), (3, 8), (4, 16), (9, 512), (10, 600), (11, 600), (30, 600)],
)
def test_ceiling_doubles_from_twice_base_and_stops_at_max_delay(attempt: int, ceiling: int) -> None:
    policy = RetryPolicy(base=SECOND, factor=2, max_delay=timedelta(minutes=10))
    assert policy.ceiling(attempt) == timedelta(seconds=ceiling)


@pytest.mark.parametrize(("factor", "third"), [(1, 10), (3, 90), (1.5, 22.5)])
def test_ceiling_grows_by_factor(factor: float, third: float) -> None:
    policy = RetryPolicy(base=5 * SECOND, factor=factor, max_delay=timedelta(days=1))
    assert policy.ceiling(1) == 10 * SECOND
    assert policy.ceiling(3) == timedelta(seconds=third)


@pytest.mark.parametrize("attempt", [46, 47, 100, 10_000])
def test_ceiling_of_the_default_policy_is_max_delay_for_late_attempts(attempt: int) -> None:
    """A task with a large max_attempts must still get a delay, not an OverflowError."""
    policy = RetryPolicy()
    assert policy.ceiling(attempt) == policy.max_delay


@pure
@given(policy=policies, attempt=attempts)
def test_ceiling_never_exceeds_max_delay(policy: RetryPolicy, attempt: int) -> None:
    assert timedelta(0) <= policy.ceiling(attempt) <= policy.max_delay


@pure
@given(policy=policies, attempt=attempts)
def test_ceiling_never_shrinks_with_attempts(policy: RetryPolicy, attempt: int) -> None:
    assert policy.ceiling(attempt) <= policy.ceiling(attempt + 1)


@pure
@given(policy=policies, attempt=attempts, seed=st.integers(min_value=0, max_value=2**32))
def test_delay_is_within_zero_and_ceiling(policy: RetryPolicy, attempt: int, seed: int) -> None:
    delay = policy.delay(attempt, random.Random(seed))
    assert timedelta(0) <= delay <= policy.ceiling(attempt)


@pure
@given(policy=policies, attempt=attempts, seed=st.integers(min_value=0, max_value=2**32))
def test_next_attempt_at_is_within_now_and_now_plus_ceiling(
    policy: RetryPolicy, attempt: int, seed: int
) -> None:
    when = next_attempt_at(
        attempt=attempt,
        max_attempts=attempt + 1,
        now=NOW,
        policy=policy,
        rng=random.Random(seed),
    )
    assert when is not None
    assert NOW <= when <= NOW + policy.ceiling(attempt)


def test_mean_first_retry_delay_is_base() -> None:
    policy = RetryPolicy(base=10 * SECOND, factor=2, max_delay=timedelta(hours=1))
    rng = random.Random(20300101)
    draws = [policy.delay(1, rng).total_seconds() for _ in range(20_000)]
    assert statistics.fmean(draws) == pytest.approx(10, rel=0.02)
    assert min(draws) >= 0
    assert max(draws) <= 20


def test_delays_are_spread_not_a_herd() -> None:
    policy = RetryPolicy(base=10 * SECOND)
    rng = random.Random(7)
    draws = {policy.delay(1, rng) for _ in range(100)}
    assert len(draws) > 90


def test_delay_is_deterministic_for_a_seeded_rng() -> None:
    policy = RetryPolicy()
    assert policy.delay(3, random.Random(42)) == policy.delay(3, random.Random(42))


def test_zero_base_means_immediate_retry() -> None:
    policy = RetryPolicy(base=timedelta(0))
    assert policy.delay(5, random.Random(1)) == timedelta(0)


@pytest.mark.parametrize(("attempt", "max_attempts"), [(3, 3), (4, 3), (1, 1)])
def test_next_attempt_at_is_none_when_attempts_are_exhausted(
    attempt: int, max_attempts: int
) -> None:
    when = next_attempt_at(
        attempt=attempt, max_attempts=max_attempts, now=NOW, policy=RetryPolicy()
    )
    assert when is None


@pytest.mark.parametrize(("attempt", "max_attempts"), [(1, 2), (2, 3), (1, 25)])
def test_next_attempt_at_is_now_plus_the_jittered_delay(attempt: int, max_attempts: int) -> None:
    policy = RetryPolicy(base=3 * SECOND)
    when = next_attempt_at(
        attempt=attempt,
        max_attempts=max_attempts,
        now=NOW,
        policy=policy,
        rng=random.Random(99),
    )
    assert when == NOW + policy.delay(attempt, random.Random(99))


class _PolicyFields(TypedDict, total=False):
    base: timedelta
    factor: float
    max_delay: timedelta


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": -SECOND},
        {"factor": 0.5},
        {"factor": 0},
        {"factor": -2},
        {"max_delay": -SECOND},
        {"factor": math.nan},
    ],
    ids=["negative-base", "factor-half", "factor-zero", "negative-factor", "negative-max", "nan"],
)
def test_invalid_policy_raises_value_error(kwargs: _PolicyFields) -> None:
    with pytest.raises(ValueError, match="retry"):
        RetryPolicy(**kwargs)


def test_policy_is_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.factor = 3  # type: ignore[misc]
