"""The autoscaling policy: the target formula, its clamps, and hysteresis on a simulated clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workhorse.observability.autoscale import (
    AutoscaleSettings,
    Load,
    ScaleState,
    next_state,
    target_workers,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
COOLDOWN = timedelta(minutes=5)
SETTINGS = AutoscaleSettings(min_workers=1, max_workers=50, headroom=0.2)


def _load(rate: float = 0.0, run: float = 0.0, backlog: int = 0, slots: int = 10) -> Load:
    return Load(arrival_rate=rate, mean_run_seconds=run, backlog=backlog, slots_per_worker=slots)


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        (_load(), 1),  # idle: the minimum
        # 50 jobs/s x 2 s = 100 busy slots; /10 per worker x 1.2 = 12
        (_load(rate=50, run=2), 12),
        # 600 waiting, drained within 60 s = 10 slots; /10 x 1.2 = 1.2 -> 2
        (_load(backlog=600), 2),
        # both: (100 + 10) / 10 x 1.2 = 13.2 -> 14
        (_load(rate=50, run=2, backlog=600), 14),
        # exactly 10 workers' worth: no extra worker for float noise
        (_load(rate=25, run=4, slots=12), 10),
        # beyond the maximum: clamped
        (_load(rate=10_000, run=10), 50),
        # a bigger worker needs fewer of them
        (_load(rate=50, run=2, slots=50), 3),
    ],
)
def test_target_workers_follows_the_formula(load: Load, expected: int) -> None:
    assert target_workers(load, SETTINGS) == expected


def test_zero_headroom_and_a_floor_of_zero() -> None:
    settings = AutoscaleSettings(min_workers=0, max_workers=5, headroom=0)
    assert target_workers(_load(), settings) == 0
    assert target_workers(_load(rate=1, run=10), settings) == 1
    assert target_workers(_load(rate=1, run=10.5), settings) == 2


def test_slots_per_worker_come_from_settings_then_the_registry_then_the_default() -> None:
    assert AutoscaleSettings(slots_per_worker=7).slots(3, 60) == 7
    assert AutoscaleSettings().slots(3, 60) == 20
    assert AutoscaleSettings(default_slots_per_worker=4).slots(0, 0) == 4


class _SettingsFields(TypedDict, total=False):
    min_workers: int
    max_workers: int
    slots_per_worker: int | None
    headroom: float
    drain_target: timedelta
    window: timedelta
    cooldown: timedelta


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_workers": 5, "max_workers": 4}, "min_workers"),
        ({"min_workers": -1}, "min_workers"),
        ({"slots_per_worker": 0}, "slots_per_worker"),
        ({"headroom": -0.1}, "headroom"),
        ({"headroom": float("nan")}, "headroom"),
        ({"drain_target": timedelta(0)}, "drain_target"),
        ({"window": timedelta(seconds=-1)}, "window"),
        ({"cooldown": timedelta(seconds=-1)}, "cooldown"),
    ],
)
def test_settings_are_checked_eagerly(changes: _SettingsFields, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AutoscaleSettings(**changes)


# -- hysteresis ------------------------------------------------------------------------------


def _run(targets: Sequence[tuple[float, int]], cooldown: timedelta = COOLDOWN) -> list[int]:
    """The desired count after each (seconds, target) observation."""
    state: ScaleState | None = None
    desired = []
    for seconds, target in targets:
        state = next_state(state, target, T0 + timedelta(seconds=seconds), cooldown)
        desired.append(state.desired)
    return desired


def test_a_higher_target_is_taken_at_once() -> None:
    assert _run([(0, 2), (5, 9), (10, 4), (15, 12)]) == [2, 9, 9, 12]


def test_a_lower_target_waits_for_the_cooldown_then_takes_its_highest_need() -> None:
    observed = [(0, 10), (10, 3), (100, 5), (200, 2), (309, 2), (310, 2), (320, 2)]
    # Lower since t=10; at t=310 the cooldown has passed: down to 5, the most the lull needed.
    assert _run(observed) == [10, 10, 10, 10, 10, 5, 5]


def test_a_rise_during_the_cooldown_starts_it_again() -> None:
    observed = [(0, 10), (10, 3), (200, 10), (250, 3), (400, 3), (550, 3)]
    assert _run(observed) == [10, 10, 10, 10, 10, 3]


def test_a_target_holds_until_the_next_reading_so_a_gap_is_no_lull() -> None:
    # Nothing was read between 0 and 1000: the 10 was in force all along.
    assert _run([(0, 10), (1000, 1), (1299, 1), (1300, 1)]) == [10, 10, 10, 1]


def test_the_readings_kept_are_bounded_by_the_cooldown() -> None:
    state = None
    for second in range(0, 3600, 5):
        state = next_state(state, second % 7, T0 + timedelta(seconds=second), COOLDOWN)
    assert state is not None
    assert len(state.readings) == 61  # 300 s of 5 s readings, and the one in force at the start


def test_a_zero_cooldown_follows_the_target_both_ways() -> None:
    assert _run([(0, 4), (1, 1), (2, 6), (3, 2)], cooldown=timedelta(0)) == [4, 1, 6, 2]


def test_a_load_step_up_and_down_on_a_simulated_clock() -> None:
    """Idle, a burst of traffic for ten minutes, idle again: observed every 5 s."""
    state: ScaleState | None = None
    history: list[tuple[int, int]] = []
    for tick in range(0, 30 * 60, 5):
        burst = 300 <= tick < 900
        load = _load(rate=40 if burst else 0.5, run=1.5, backlog=900 if tick == 300 else 0)
        state = next_state(
            state, target_workers(load, SETTINGS), T0 + timedelta(seconds=tick), COOLDOWN
        )
        history.append((tick, state.desired))
    desired = dict(history)
    assert desired[295] == 1
    # The first reading of the burst: (40 x 1.5 + 900 / 60) / 10 x 1.2 = 9, taken at once.
    assert desired[300] == 9
    # The backlog is gone after one reading; the burst alone needs 8 (7.2 rounded up), but the
    # 9 holds through the cooldown.
    assert {desired[t] for t in range(305, 605, 5)} == {9}
    assert {desired[t] for t in range(605, 1200, 5)} == {8}
    # Traffic stopped at 900: down to the minimum five minutes later, not before.
    assert desired[1200] == 1
    assert desired[30 * 60 - 5] == 1


@st.composite
def _observations(draw: st.DrawFn) -> list[tuple[float, int]]:
    steps = draw(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 30)), max_size=40))
    seconds = 0
    observed: list[tuple[float, int]] = []
    for gap, target in steps:
        seconds += gap
        observed.append((seconds, target))
    return observed


@given(_observations())
def test_desired_never_falls_below_the_current_target(observed: list[tuple[float, int]]) -> None:
    for (_, target), desired in zip(observed, _run(observed), strict=True):
        assert desired >= target


@given(_observations())
def test_desired_comes_down_only_after_a_full_cooldown_of_lower_targets(
    observed: list[tuple[float, int]],
) -> None:
    desired = _run(observed)
    cooldown = COOLDOWN.total_seconds()
    for index in range(1, len(observed)):
        old, now = desired[index - 1], observed[index][0]
        if desired[index] >= old:
            continue
        seen = observed[: index + 1]
        recent = [target for at, target in seen if at >= now - cooldown]
        # Every target of the last cooldown was lower, one already at its start; the new value
        # covers the highest of them.
        assert all(target < old for target in recent)
        assert any(at <= now - cooldown and target < old for at, target in seen)
        assert desired[index] >= max(recent)


@given(
    st.floats(0, 1e4, allow_nan=False),
    st.floats(0, 3600, allow_nan=False),
    st.integers(0, 10**7),
    st.integers(1, 1000),
)
def test_the_target_is_within_bounds_and_grows_with_load(
    rate: float, run: float, backlog: int, slots: int
) -> None:
    load = _load(rate=rate, run=run, backlog=backlog, slots=slots)
    target = target_workers(load, SETTINGS)
    assert SETTINGS.min_workers <= target <= SETTINGS.max_workers
    assert (
        target_workers(_load(rate=rate * 2, run=run, backlog=backlog, slots=slots), SETTINGS)
        >= target
    )
    assert (
        target_workers(_load(rate=rate, run=run, backlog=backlog + 100, slots=slots), SETTINGS)
        >= target
    )
