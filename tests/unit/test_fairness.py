"""The fair-share policy on its own: ``allocate`` from tables of cases and hypothesis properties,
and the two time functions it is fed with (``decayed`` usage, ``refill``-ed token buckets)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TypedDict, Unpack

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workhorse.fairness import MIN_COST, TenantDemand, allocate, decayed, refill

# -- allocate: tables of cases -----------------------------------------------------------------


class _DemandFields(TypedDict, total=False):
    weight: float
    usage: float
    running: int
    max_running: int | None
    tokens: float | None
    mean_cost: float
    available: int | None


def _demand(name: str, **fields: Unpack[_DemandFields]) -> TenantDemand:
    return TenantDemand(name=name, **fields)


ALLOCATE_CASES: list[tuple[str, list[TenantDemand], int, dict[str, int]]] = [
    (
        "weights 3:1, equal costs: 75/25 of the slots",
        [_demand("a", weight=3, mean_cost=1.0), _demand("b", weight=1, mean_cost=1.0)],
        8,
        {"a": 6, "b": 2},
    ),
    (
        "weights 1:3 given in the other order: 25/75",
        [_demand("b", weight=3, mean_cost=1.0), _demand("a", weight=1, mean_cost=1.0)],
        4,
        {"a": 1, "b": 3},
    ),
    (
        "costs 100 ms vs 10 ms: ten times the slots for the cheap jobs, equal worker-time",
        [_demand("slow", mean_cost=0.1), _demand("fast", mean_cost=0.01)],
        11,
        {"slow": 1, "fast": 10},
    ),
    (
        "the tenant with less usage per weight is served first",
        [_demand("busy", usage=10.0, mean_cost=1.0), _demand("idle", usage=2.0, mean_cost=1.0)],
        1,
        {"idle": 1},
    ),
    (
        "usage is per unit of weight",
        [
            _demand("heavy", usage=10.0, weight=10, mean_cost=1.0),
            _demand("light", usage=2.0, weight=1, mean_cost=1.0),
        ],
        1,
        {"heavy": 1},
    ),
    (
        "a tenant catches up on usage before the other gets a slot",
        [_demand("ahead", usage=3.0, mean_cost=1.0), _demand("behind", usage=0.0, mean_cost=1.0)],
        5,
        {"behind": 4, "ahead": 1},
    ),
    (
        "max_running counts the running jobs",
        [_demand("capped", max_running=3, running=1), _demand("other", usage=100.0)],
        10,
        {"capped": 2, "other": 8},
    ),
    (
        "a tenant at max_running gets nothing",
        [_demand("full", max_running=2, running=2), _demand("other", usage=100.0)],
        3,
        {"other": 3},
    ),
    (
        "running past max_running (a lowered limit) is room 0, not negative",
        [_demand("over", max_running=1, running=4), _demand("other")],
        2,
        {"other": 2},
    ),
    (
        "max_running 0 means nothing runs",
        [_demand("zero", max_running=0)],
        5,
        {},
    ),
    (
        "rate tokens cap the starts (whole tokens only)",
        [_demand("metered", tokens=2.9), _demand("other", usage=100.0)],
        10,
        {"metered": 2, "other": 8},
    ),
    (
        "less than one token: no start",
        [_demand("metered", tokens=0.999), _demand("other", usage=100.0)],
        3,
        {"other": 3},
    ),
    (
        "the smallest of max_running, tokens and available wins",
        [_demand("t", max_running=5, running=1, tokens=3.0, available=7)],
        10,
        {"t": 3},
    ),
    (
        "available jobs cap the slots",
        [_demand("few", available=2), _demand("many", usage=1.0)],
        6,
        {"few": 2, "many": 4},
    ),
    (
        "available 0: not offered",
        [_demand("none", available=0), _demand("some", usage=5.0)],
        2,
        {"some": 2},
    ),
    (
        "every tenant at a limit: slots stay free",
        [_demand("a", max_running=1), _demand("b", tokens=2.0)],
        10,
        {"a": 1, "b": 2},
    ),
    (
        "zero capacity: nothing",
        [_demand("a"), _demand("b")],
        0,
        {},
    ),
    (
        "negative capacity: nothing",
        [_demand("a")],
        -3,
        {},
    ),
    (
        "no tenants: nothing",
        [],
        4,
        {},
    ),
    (
        "ties go to the smaller name",
        [_demand("zeta", mean_cost=1.0), _demand("alpha", mean_cost=1.0)],
        1,
        {"alpha": 1},
    ),
    (
        "ties alternate by name",
        [_demand("b", mean_cost=1.0), _demand("a", mean_cost=1.0), _demand("c", mean_cost=1.0)],
        5,
        {"a": 2, "b": 2, "c": 1},
    ),
    (
        "a weight of zero is never offered",
        [_demand("weightless", weight=0), _demand("other", usage=50.0)],
        2,
        {"other": 2},
    ),
]


@pytest.mark.parametrize(
    ("demands", "capacity", "expected"),
    [case[1:] for case in ALLOCATE_CASES],
    ids=[case[0] for case in ALLOCATE_CASES],
)
def test_allocate(demands: list[TenantDemand], capacity: int, expected: dict[str, int]) -> None:
    assert allocate(demands, capacity) == expected


def test_allocate_leaves_out_paused_tenants_by_their_absence() -> None:
    """The claim drops paused tenants before allocating: their slots go to the others."""
    active = [_demand("a", weight=2, mean_cost=1.0), _demand("b", mean_cost=1.0)]
    paused = _demand("paused", mean_cost=1.0)
    with_paused = allocate([*active, paused], 6)
    without = allocate(active, 6)
    assert with_paused["paused"] > 0
    assert "paused" not in without
    assert sum(without.values()) == 6
    assert without == {"a": 4, "b": 2}


def test_allocate_counts_cheap_jobs_at_least_min_cost() -> None:
    """A tenant whose jobs look free still pays MIN_COST a slot, so it cannot take every slot
    from a tenant only a few such slots ahead of it."""
    free = _demand("free", mean_cost=0.0)
    other = _demand("other", usage=5 * MIN_COST, mean_cost=0.0)
    given_ = allocate([free, other], 10)
    assert given_.get("other", 0) >= 1
    assert given_["free"] > given_["other"]
    assert sum(given_.values()) == 10


def test_allocate_is_deterministic_whatever_the_input_order() -> None:
    demands = [
        _demand("c", weight=2, usage=1.0, mean_cost=0.5),
        _demand("a", weight=1, usage=0.5, mean_cost=0.25),
        _demand("b", weight=3, usage=0.0, mean_cost=1.0, max_running=4, running=1),
    ]
    expected = allocate(demands, 9)
    assert allocate(list(reversed(demands)), 9) == expected
    assert allocate(demands[1:] + demands[:1], 9) == expected
    assert allocate(demands, 9) == expected


def test_allocate_does_not_change_its_inputs() -> None:
    demands = [_demand("a", weight=2), _demand("b")]
    before = list(demands)
    allocate(demands, 5)
    assert demands == before


# -- allocate: properties ----------------------------------------------------------------------

_names = st.text(alphabet="abcdefghij", min_size=1, max_size=3)


@st.composite
def demands(draw: st.DrawFn, *, finite_rooms: bool = False) -> list[TenantDemand]:
    """Tenants with distinct names, positive weights, and any mix of limits."""
    names = draw(st.lists(_names, min_size=1, max_size=8, unique=True))
    found = []
    for name in names:
        max_running = draw(st.none() | st.integers(0, 10))
        tokens = draw(st.none() | st.floats(0, 10, allow_nan=False))
        available = draw(st.integers(0, 20) if finite_rooms else st.none() | st.integers(0, 20))
        found.append(
            TenantDemand(
                name=name,
                weight=draw(st.floats(0.1, 10, allow_nan=False)),
                usage=draw(st.floats(0, 100, allow_nan=False)),
                running=draw(st.integers(0, 10)),
                max_running=max_running,
                tokens=tokens,
                mean_cost=draw(st.floats(0, 5, allow_nan=False)),
                available=available,
            )
        )
    return found


capacities = st.integers(0, 60)


@given(demands(), capacities)
def test_allocate_never_gives_more_than_capacity(
    tenants: list[TenantDemand], capacity: int
) -> None:
    given_ = allocate(tenants, capacity)
    assert sum(given_.values()) <= max(capacity, 0)
    assert all(count > 0 for count in given_.values())
    assert set(given_) <= {tenant.name for tenant in tenants}


@given(demands(), capacities)
def test_allocate_never_gives_a_tenant_more_than_its_room(
    tenants: list[TenantDemand], capacity: int
) -> None:
    given_ = allocate(tenants, capacity)
    for tenant in tenants:
        room = tenant.room()
        if room is not None:
            assert given_.get(tenant.name, 0) <= room
        if tenant.max_running is not None:
            assert tenant.running + given_.get(tenant.name, 0) <= max(
                tenant.max_running, tenant.running
            )
        if tenant.tokens is not None:
            assert given_.get(tenant.name, 0) <= tenant.tokens + 1e-9


@given(demands(finite_rooms=True), capacities)
def test_allocate_is_work_conserving(tenants: list[TenantDemand], capacity: int) -> None:
    """Slots stay free only when every tenant is at a limit."""
    rooms = [tenant.room() for tenant in tenants]
    assert all(room is not None for room in rooms)
    total = sum(room for room in rooms if room is not None)
    assert sum(allocate(tenants, capacity).values()) == min(capacity, total)


@given(demands(), st.integers(1, 60))
def test_allocate_uses_every_slot_when_a_tenant_has_no_limit(
    tenants: list[TenantDemand], capacity: int
) -> None:
    unlimited = TenantDemand(name="unlimited-tenant", usage=1000.0)
    assert sum(allocate([*tenants, unlimited], capacity).values()) == capacity


@example(
    tenants=[
        TenantDemand(name="a", usage=0.0, mean_cost=1.0),
        TenantDemand(name="b", usage=0.5, mean_cost=0.001),
    ],
    capacity=1,
)
@given(demands(), st.integers(1, 60))
def test_allocate_serves_the_lowest_usage_per_weight_first(
    tenants: list[TenantDemand], capacity: int
) -> None:
    """Whenever a slot is given, the tenant with room and the least usage per weight (ties: the
    heavier tenant, then the smallest name) gets one."""
    eligible = [tenant for tenant in tenants if tenant.room() != 0]
    given_ = allocate(tenants, capacity)
    if not eligible:
        assert given_ == {}
        return
    first = min(
        eligible, key=lambda tenant: (tenant.usage / tenant.weight, -tenant.weight, tenant.name)
    )
    assert given_.get(first.name, 0) >= 1


@example(weights=[1, 1, 1, 1, 2], rounds=2, cost=1.0, usage=0.0)
@example(weights=[10, 1, 1, 1, 1, 1, 1, 1], rounds=1, cost=1.0, usage=0.0)
@given(
    st.lists(st.integers(1, 10), min_size=1, max_size=8),
    st.integers(0, 10),
    st.floats(0.001, 5, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
)
def test_allocate_is_proportional_to_weight_for_equal_costs_and_usage(
    weights: list[int], rounds: int, cost: float, usage: float
) -> None:
    """Tenants with equal costs and equal usage per unit of weight (each has had its share so
    far), offered whole rounds of slots (capacity a multiple of the total weight): every tenant
    gets within one slot of capacity * weight / total weight. (A single allocation smaller than
    the total weight cannot be proportional while serving the least usage per weight first;
    over successive allocations the shares converge, as the end-to-end share tests show.)"""
    tenants = [
        TenantDemand(name=f"t{i}", weight=w, usage=usage * w, mean_cost=cost)
        for i, w in enumerate(weights)
    ]
    total = sum(weights)
    capacity = rounds * total
    given_ = allocate(tenants, capacity)
    assert sum(given_.values()) == capacity
    for tenant in tenants:
        exact = capacity * tenant.weight / total
        assert abs(given_.get(tenant.name, 0) - exact) <= 1 + 1e-9, (tenant, given_)


@given(
    st.lists(st.floats(0.001, 1, allow_nan=False), min_size=2, max_size=6),
    st.integers(1, 200),
)
def test_allocate_gives_equal_worker_time_for_unequal_costs(
    costs: list[float], capacity: int
) -> None:
    """Equal weights and usage: slots * cost per tenant differ by at most the largest cost, as
    long as capacity is left over (nobody capped)."""
    tenants = [TenantDemand(name=f"t{i}", mean_cost=c) for i, c in enumerate(costs)]
    given_ = allocate(tenants, capacity)
    worker_time = [given_.get(t.name, 0) * t.mean_cost for t in tenants]
    assert max(worker_time) - min(worker_time) <= max(costs) + 1e-9


# -- decayed -----------------------------------------------------------------------------------

WINDOW = timedelta(minutes=1)

DECAY_CASES = [
    (10.0, timedelta(0), WINDOW, 10.0),
    (10.0, WINDOW, WINDOW, 10.0 / math.e),
    (10.0, 2 * WINDOW, WINDOW, 10.0 / math.e**2),
    (6.0, timedelta(seconds=30), timedelta(seconds=30), 6.0 / math.e),
    (10.0, timedelta(seconds=-5), WINDOW, 10.0),
    (0.0, timedelta(hours=1), WINDOW, 0.0),
]


@pytest.mark.parametrize(("usage", "elapsed", "window", "expected"), DECAY_CASES)
def test_decayed(usage: float, elapsed: timedelta, window: timedelta, expected: float) -> None:
    assert decayed(usage, elapsed, window) == pytest.approx(expected)


usages = st.floats(0, 1e6, allow_nan=False)
# Durations as whole microseconds, as timedelta stores them, so sums of durations are exact.
durations = st.integers(0, 10**10).map(lambda us: timedelta(microseconds=us))
windows = st.integers(10**4, 10**10).map(lambda us: timedelta(microseconds=us))


@given(usages, durations, durations, windows)
def test_decayed_never_grows_and_shrinks_with_time(
    usage: float, first: timedelta, later: timedelta, window: timedelta
) -> None:
    early = decayed(usage, first, window)
    late = decayed(usage, first + later, window)
    assert 0 <= late <= early <= usage


@given(usages, durations, durations, windows)
def test_decayed_in_two_steps_equals_one_step(
    usage: float, first: timedelta, second: timedelta, window: timedelta
) -> None:
    """So decaying at every update gives the same usage as decaying once."""
    stepped = decayed(decayed(usage, first, window), second, window)
    once = decayed(usage, first + second, window)
    assert stepped == pytest.approx(once, rel=1e-9, abs=1e-12)


@given(usages, usages, durations, windows)
def test_decayed_is_linear_in_usage(
    a: float, b: float, elapsed: timedelta, window: timedelta
) -> None:
    """So adding run time then decaying equals decaying each part."""
    combined = decayed(a + b, elapsed, window)
    assert combined == pytest.approx(decayed(a, elapsed, window) + decayed(b, elapsed, window))


@given(usages, durations, windows)
def test_decayed_ignores_negative_elapsed_time(
    usage: float, elapsed: timedelta, window: timedelta
) -> None:
    """A claimer whose clock is a little behind never inflates usage."""
    assert decayed(usage, -elapsed, window) == usage


# -- refill ------------------------------------------------------------------------------------

REFILL_CASES = [
    (0.0, 0.5, 2.0, 2.0, 1.0),
    (0.0, 1.0, 2.0, 2.0, 2.0),
    (0.0, 10.0, 2.0, 2.0, 2.0),
    (1.5, 0.1, 1.0, 5.0, 1.6),
    (0.3, 0.0, 4.0, 3.0, 0.3),
    (2.0, -1.0, 4.0, 3.0, 2.0),
    (9.0, 0.0, 1.0, 3.0, 3.0),
]


@pytest.mark.parametrize(("tokens", "elapsed", "rate", "burst", "expected"), REFILL_CASES)
def test_refill(tokens: float, elapsed: float, rate: float, burst: float, expected: float) -> None:
    assert refill(tokens, timedelta(seconds=elapsed), rate, burst) == pytest.approx(expected)


rates = st.floats(0.01, 1000, allow_nan=False)
bursts = st.floats(1, 1000, allow_nan=False)


@st.composite
def buckets(draw: st.DrawFn) -> tuple[float, float, float]:
    """(tokens, rate, burst) with 0 <= tokens <= burst."""
    burst = draw(bursts)
    return draw(st.floats(0, burst, allow_nan=False)), draw(rates), burst


@given(buckets(), durations)
def test_refill_stays_within_the_bucket(
    bucket: tuple[float, float, float], elapsed: timedelta
) -> None:
    tokens, rate, burst = bucket
    after = refill(tokens, elapsed, rate, burst)
    assert tokens <= after <= burst
    assert after <= tokens + rate * elapsed.total_seconds() + 1e-9


@given(buckets(), durations, durations)
def test_refill_grows_with_time(
    bucket: tuple[float, float, float], first: timedelta, later: timedelta
) -> None:
    tokens, rate, burst = bucket
    assert refill(tokens, first + later, rate, burst) >= refill(tokens, first, rate, burst)


@given(buckets(), durations)
def test_refill_ignores_negative_elapsed_time(
    bucket: tuple[float, float, float], elapsed: timedelta
) -> None:
    tokens, rate, burst = bucket
    assert refill(tokens, -elapsed, rate, burst) == tokens


@given(buckets(), durations, durations)
def test_refill_in_two_steps_equals_one_step(
    bucket: tuple[float, float, float], first: timedelta, second: timedelta
) -> None:
    tokens, rate, burst = bucket
    stepped = refill(refill(tokens, first, rate, burst), second, rate, burst)
    once = refill(tokens, first + second, rate, burst)
    assert stepped == pytest.approx(once, rel=1e-9, abs=1e-9)


@settings(max_examples=200)
@given(rates, bursts, st.lists(st.integers(0, 5 * 10**6), min_size=1, max_size=30))
def test_refill_and_spend_never_start_more_than_burst_plus_rate_times_time(
    rate: float, burst: float, gaps_us: list[int]
) -> None:
    """A claimer that refills, then spends every whole token, starts at most
    ``burst + rate * elapsed`` jobs over any run of claims (the start-rate guarantee)."""
    tokens, elapsed, started = burst, 0.0, 0
    for gap_us in gaps_us:
        gap = timedelta(microseconds=gap_us)
        elapsed += gap.total_seconds()
        tokens = refill(tokens, gap, rate, burst)
        spend = math.floor(tokens + 1e-9)
        started += spend
        tokens -= spend
        assert started <= burst + rate * elapsed + 1e-6
