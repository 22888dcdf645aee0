"""``DatabaseHealth``: the up/down state and one log line per transition."""

from __future__ import annotations

import logging

import pytest

from workhorse.backends.health import DatabaseHealth


def test_one_line_when_the_database_goes_down_and_one_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = DatabaseHealth("postgresql://db/jobs")
    with caplog.at_level(logging.WARNING, logger="workhorse.database"):
        health.reached()
        health.unreachable("connection refused")
        health.unreachable("connection refused")
        assert not health.up
        health.reached()
        health.reached()
    assert health.up
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0] == "database postgresql://db/jobs is unreachable: connection refused"
    assert messages[1].startswith("database postgresql://db/jobs is reachable again after ")
