"""How a PostgreSQL URL becomes a connection string: Workhorse's options off, failover and
timeout defaults on, the caller's own choices kept."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from workhorse.backends.postgres.connecting import _PromptAttempt, parse_url
from workhorse.errors import ConfigurationError


def _query(conninfo: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(conninfo).query).items()}


def test_defaults_ask_for_a_writable_primary_keepalives_and_server_timeouts() -> None:
    settings = parse_url("postgresql://u@db1:5432,db2:5433/jobs")
    query = _query(settings.conninfo)
    assert urlsplit(settings.conninfo).netloc == "u@db1:5432,db2:5433"
    assert query["target_session_attrs"] == "read-write"
    assert query["keepalives"] == "1"
    assert query["tcp_user_timeout"] == "10000"
    assert query["options"] == (
        "-c statement_timeout=30s -c lock_timeout=10s -c idle_in_transaction_session_timeout=60s"
        " -c jit=off"
    )
    assert (settings.pool_min, settings.pool_max, settings.pool_timeout) == (1, 10, 5.0)
    assert settings.connect_kwargs == {"connect_timeout": 5, "autocommit": True}


def test_the_callers_choices_win_and_workhorse_options_are_taken_off() -> None:
    url = (
        "postgres://u@db/jobs?target_session_attrs=any&pool_max=3&pool_timeout=2.5"
        "&statement_timeout=5min&options=-csearch_path%3Dapp%20-c%20lock_timeout%3D1s"
    )
    settings = parse_url(url)
    query = _query(settings.conninfo)
    assert query["target_session_attrs"] == "any"
    assert query["options"] == (
        "-csearch_path=app -c lock_timeout=1s -c statement_timeout=5min "
        "-c idle_in_transaction_session_timeout=60s -c jit=off"
    )
    assert not {"pool_max", "pool_timeout", "statement_timeout"} & query.keys()
    assert (settings.pool_max, settings.pool_timeout) == (3, 2.5)


def test_pgbouncer_mode_sends_no_startup_options_and_prepares_nothing() -> None:
    settings = parse_url("postgresql://u@bouncer:6432/jobs?pgbouncer=on")
    assert settings.pgbouncer
    assert "options" not in _query(settings.conninfo)
    assert "pgbouncer" not in _query(settings.conninfo)
    assert settings.connect_kwargs["prepare_threshold"] is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/jobs", "not a PostgreSQL URL"),
        ("postgresql://db/jobs?pool_max=many", "bad pool option"),
        ("postgresql://db/jobs?pool_min=5&pool_max=2", "pool_min <= pool_max"),
        ("postgresql://db/jobs?pool_timeout=0", "pool_timeout must be positive"),
        ("postgresql://db/jobs?pgbouncer=maybe", "pgbouncer must be on or off"),
    ],
)
def test_bad_options_are_configuration_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_url(url)


def test_the_pool_retries_a_connection_soon_and_at_most_a_second_apart() -> None:
    attempt = _PromptAttempt(timeout=300)
    delays = []
    for _ in range(8):
        attempt.update_delay(now=0.0)
        delays.append(attempt.delay)
    assert delays[0] <= 0.2
    assert max(delays) == _PromptAttempt.MAX_DELAY
