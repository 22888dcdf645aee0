"""WorkerConfig: defaults derived from other settings, and eager checks."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from workhorse.errors import ConfigurationError
from workhorse.worker import DispatchMode, WorkerConfig


@pytest.mark.parametrize(
    ("lease", "heartbeat"),
    [(30, 2.0), (6, 2.0), (3, 1.0), (1.5, 0.5)],
)
def test_the_heartbeat_interval_is_a_third_of_the_lease_at_most_2_s(
    lease: float, heartbeat: float
) -> None:
    config = WorkerConfig(lease=timedelta(seconds=lease))
    assert config.heartbeat == timedelta(seconds=heartbeat)


def test_a_given_heartbeat_interval_is_kept() -> None:
    config = WorkerConfig(lease=timedelta(seconds=3), heartbeat_interval=timedelta(seconds=1.4))
    assert config.heartbeat == timedelta(seconds=1.4)


@pytest.mark.parametrize("heartbeat", [0, 1.5, 5])
def test_a_heartbeat_interval_outside_half_the_lease_is_refused(heartbeat: float) -> None:
    with pytest.raises(ConfigurationError, match="heartbeat_interval"):
        WorkerConfig(lease=timedelta(seconds=3), heartbeat_interval=timedelta(seconds=heartbeat))


def test_process_options_default_to_the_cpus_and_never() -> None:
    config = WorkerConfig()
    assert config.process_count == (os.cpu_count() or 1)
    assert (config.max_jobs_per_child, config.max_memory_per_child) == (None, None)
    assert WorkerConfig(processes=3).process_count == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"processes": 0}, "processes must be >= 1"),
        ({"max_jobs_per_child": 0}, "max_jobs_per_child must be >= 1"),
        ({"max_memory_per_child": 0}, "max_memory_per_child must be positive"),
    ],
)
def test_bad_process_options_are_refused(options: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        WorkerConfig(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "mode"),
    [
        (DispatchMode.INLINE, DispatchMode.INLINE),
        ("off", DispatchMode.OFF),
        (False, DispatchMode.OFF),
        (True, DispatchMode.PROCESS),
    ],
)
def test_dispatch_takes_a_mode_its_name_or_a_bool(given: object, mode: DispatchMode) -> None:
    assert WorkerConfig(dispatch=given).dispatch is mode  # type: ignore[arg-type]


def test_dispatch_refuses_an_unknown_mode() -> None:
    with pytest.raises(ConfigurationError, match="dispatch must be one of process, inline, off"):
        WorkerConfig(dispatch="elsewhere")  # type: ignore[arg-type]
