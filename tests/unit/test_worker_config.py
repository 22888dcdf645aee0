"""WorkerConfig: defaults derived from other settings, and eager checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse.errors import ConfigurationError
from workhorse.worker import WorkerConfig


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
