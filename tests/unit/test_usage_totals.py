"""Showback totals and prices, the usage command's windows, and how a child's end is named."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest

from workhorse.backends.base import UsageRow
from workhorse.cli.usage import parse_window
from workhorse.errors import ConfigurationError
from workhorse.usage import Prices, UsageBy, totals
from workhorse.worker.processes.pool import describe_exit

HOUR = datetime(2030, 1, 1, tzinfo=UTC)


def _row(tenant: str, task: str, *, cpu: float, slots: float, jobs: int = 1) -> UsageRow:
    return UsageRow(
        tenant=tenant,
        hour=HOUR,
        task=task,
        queue="default",
        jobs=jobs,
        attempts=jobs + 1,
        wall_seconds=slots,
        cpu_seconds=cpu,
        slot_seconds=slots,
    )


ROWS = [
    _row("acme", "resize", cpu=3600, slots=3600),
    _row("acme", "email", cpu=0, slots=360),
    _row("globex", "resize", cpu=7200, slots=7200, jobs=4),
]


def test_totals_are_summed_per_key_costliest_first() -> None:
    prices = Prices(cpu_hour=1.0, slot_hour=0.5)
    found = totals(ROWS, UsageBy.TENANT, prices)
    assert [t.key for t in found] == ["globex", "acme"]
    globex, acme = found
    assert (globex.jobs, globex.attempts) == (4, 5)
    assert globex.cost == pytest.approx(2.0 + 1.0)
    assert acme.worker_seconds == 3960 and acme.cost == pytest.approx(1.0 + 0.55)
    assert [t.key for t in totals(ROWS, UsageBy.TASK, prices)] == ["resize", "email"]
    assert [t.key for t in totals(ROWS, UsageBy.QUEUE, prices)] == ["default"]


def test_without_prices_nothing_costs_and_worker_time_ranks() -> None:
    found = totals(ROWS, UsageBy.TASK, Prices())
    assert [t.key for t in found] == ["resize", "email"]
    assert {t.cost for t in found} == {0.0}


def test_prices_come_from_the_environment_and_are_checked() -> None:
    env = {"WORKHORSE_PRICE_CPU_HOUR": "0.048", "WORKHORSE_PRICE_SLOT_HOUR": " "}
    assert Prices.from_env(env) == Prices(cpu_hour=0.048, slot_hour=0.0)
    with pytest.raises(ConfigurationError, match="WORKHORSE_PRICE_CPU_HOUR must be a number"):
        Prices.from_env({"WORKHORSE_PRICE_CPU_HOUR": "cheap"})
    with pytest.raises(ConfigurationError, match="price slot_hour"):
        Prices(slot_hour=-1)


@pytest.mark.parametrize(
    ("text", "window"),
    [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7))],
)
def test_windows_are_read(text: str, window: timedelta) -> None:
    assert parse_window(text) == window


@pytest.mark.parametrize("bad", ["", "24", "0h", "h", "3x", "-1d"])
def test_bad_windows_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a window"):
        parse_window(bad)


def test_a_childs_end_is_named_by_its_exit_code_or_signal() -> None:
    assert describe_exit(3 << 8) == "exited with code 3"
    assert describe_exit(signal.SIGSEGV) == "was killed by SIGSEGV"
