"""The job state machine: the TRANSITIONS table is the one source of truth, walked here."""

from __future__ import annotations

from collections import deque

import pytest

from workhorse.jobs import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    JobState,
    can_transition,
)

S = JobState


def _reachable(source: JobState) -> set[JobState]:
    seen = {source}
    todo = deque([source])
    while todo:
        for target in TRANSITIONS[todo.popleft()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_state_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(JobState)


def test_every_target_is_a_state() -> None:
    for targets in TRANSITIONS.values():
        assert targets <= set(JobState)


def test_no_state_transitions_to_itself() -> None:
    for source, targets in TRANSITIONS.items():
        assert source not in targets


def test_terminal_states_are_exactly_succeeded_dead_cancelled() -> None:
    terminal = {S.SUCCEEDED, S.DEAD, S.CANCELLED}
    assert terminal == TERMINAL_STATES
    assert set(JobState) - terminal == ACTIVE_STATES


def test_terminal_states_have_no_exit_except_by_hand() -> None:
    """A dead job may be retried (queued) or discarded (cancelled), both by hand; a job cancelled
    because its parent failed is re-opened (blocked) when that parent is retried by hand."""
    exits = {(source, target) for source in TERMINAL_STATES for target in TRANSITIONS[source]}
    assert exits == {(S.DEAD, S.QUEUED), (S.DEAD, S.CANCELLED), (S.CANCELLED, S.BLOCKED)}


@pytest.mark.parametrize("state", list(JobState))
def test_terminal_property_matches_the_terminal_set(state: JobState) -> None:
    assert state.terminal is (state in TERMINAL_STATES)


@pytest.mark.parametrize("source", list(JobState))
@pytest.mark.parametrize("target", list(JobState))
def test_can_transition_agrees_with_the_table(source: JobState, target: JobState) -> None:
    assert can_transition(source, target) is (target in TRANSITIONS[source])


@pytest.mark.parametrize("state", sorted(ACTIVE_STATES))
def test_every_non_terminal_state_can_be_cancelled_directly(state: JobState) -> None:
    assert can_transition(state, S.CANCELLED)


@pytest.mark.parametrize("state", sorted(ACTIVE_STATES))
def test_every_non_terminal_state_can_reach_a_terminal_state(state: JobState) -> None:
    assert _reachable(state) & TERMINAL_STATES


def test_every_state_is_reachable_from_enqueue() -> None:
    """Enqueue creates queued, scheduled or blocked jobs; from there the whole machine is
    reachable."""
    assert _reachable(S.QUEUED) | _reachable(S.SCHEDULED) | _reachable(S.BLOCKED) == set(JobState)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.QUEUED, S.RUNNING),
        (S.RUNNING, S.SUCCEEDED),
        (S.RUNNING, S.RETRYING),
        (S.RUNNING, S.DEAD),
        (S.RUNNING, S.QUEUED),
        (S.RETRYING, S.QUEUED),
        (S.SCHEDULED, S.QUEUED),
        (S.DEAD, S.QUEUED),
        (S.BLOCKED, S.QUEUED),
        (S.BLOCKED, S.CANCELLED),
    ],
)
def test_documented_transitions_are_allowed(source: JobState, target: JobState) -> None:
    assert can_transition(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.QUEUED, S.SUCCEEDED),
        (S.SCHEDULED, S.RUNNING),
        (S.RETRYING, S.RUNNING),
        (S.SUCCEEDED, S.QUEUED),
        (S.CANCELLED, S.QUEUED),
        (S.DEAD, S.RUNNING),
        (S.BLOCKED, S.RUNNING),
        (S.CANCELLED, S.RUNNING),
    ],
)
def test_shortcuts_are_refused(source: JobState, target: JobState) -> None:
    assert not can_transition(source, target)


def test_states_are_their_string_values() -> None:
    for state in JobState:
        assert JobState(str(state)) is state
        assert state == state.value
