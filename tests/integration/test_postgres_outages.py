"""PostgreSQL going away under a running process: connections killed while idle, a server down
for a while, a standby promoted. No call fails because of a stale pooled connection; a call made
while the server is down waits up to the pool timeout and then fails with DatabaseError."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from prometheus_client import generate_latest

from pgprivate import Cluster, failover_url, primary_and_standby, private_cluster
from pgtest import SERVER_URL
from workhorse import DatabaseError, Worker, Workhorse
from workhorse.backends import base as b
from workhorse.backends.postgres import PostgresBackend
from workhorse.backends.postgres.statements import PostgresTx
from workhorse.backends.postgres.store import PostgresStore

app = Workhorse()


@app.task
def add(a: int, b: int) -> int:
    return a + b


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A private cluster these tests may stop and start (never the shared one)."""
    with private_cluster() as created:
        yield created


@pytest.fixture
def running(cluster: Cluster) -> Iterator[Cluster]:
    """The private cluster, running again after the test whatever it did."""
    cluster.wait_ready()
    try:
        yield cluster
    finally:
        if not cluster.is_ready():
            cluster.ctl("start")
            cluster.wait_ready()


def _open(url: str) -> Workhorse:
    """The test app on ``url``, migrated."""
    app.close()
    app.database_url = url
    app.migrate()
    return app


def _count(workhorse: Workhorse) -> int:
    return sum(row.count for row in workhorse.backend.job_count(b.JobCountParams()))


def _up(workhorse: Workhorse) -> bool:
    """``workhorse_database_up`` as a worker of ``workhorse`` exposes it."""
    exposition = generate_latest(Worker(workhorse).metrics.registry).decode()
    return "workhorse_database_up 1.0" in exposition


def test_connections_the_server_closed_while_idle_are_never_handed_out(
    migrated_url: str,
) -> None:
    name = f"wh_idle_{uuid.uuid4().hex[:8]}"
    workhorse = _open(f"{migrated_url}&application_name={name}&pool_min=4")
    try:
        add.enqueue(1, 2)
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                [name],
            ).fetchall()
        assert len(killed) >= 1
        time.sleep(0.2)  # the FATAL messages reach the idle sockets
        for i in range(10):
            add.enqueue(i, i)
        assert _count(workhorse) == 11
        assert _up(workhorse)
    finally:
        workhorse.close()


def test_a_call_waits_out_an_outage_shorter_than_the_pool_timeout(running: Cluster) -> None:
    workhorse = _open(running.url("jobs") + "?pool_timeout=30")
    try:
        before = _count(workhorse)
        running.ctl("stop", "-m", "fast")
        restart = threading.Timer(1.0, running.ctl, ["start"])
        restart.start()
        add.enqueue(3, 4)  # made while the server is down; returns once it is back
        restart.join()
        assert _count(workhorse) == before + 1
    finally:
        workhorse.close()


def test_a_longer_outage_fails_clearly_and_the_next_call_after_it_succeeds(
    running: Cluster,
) -> None:
    workhorse = _open(running.url("jobs") + "?pool_timeout=1")
    try:
        before = _count(workhorse)
        running.ctl("stop", "-m", "fast")
        with pytest.raises(DatabaseError, match="unavailable: no connection within 1s"):
            add.enqueue(3, 4)
        assert not _up(workhorse)
        running.ctl("start")
        running.wait_ready()
        add.enqueue(5, 6)
        assert _count(workhorse) == before + 1
        assert _up(workhorse)
    finally:
        workhorse.close()


def test_a_multi_host_url_finds_the_promoted_standby() -> None:
    with primary_and_standby(synchronous=True) as (primary, standby):
        workhorse = _open(failover_url([primary, standby]) + "&pool_timeout=30")
        try:
            for i in range(20):
                add.enqueue(i, i)
            primary.ctl("stop", "-m", "fast")
            standby.ctl("promote")
            add.enqueue(0, 0)
            assert _count(workhorse) == 21, "nothing acknowledged was lost"
            assert isinstance(workhorse.backend, PostgresBackend)
        finally:
            workhorse.close()


def test_a_statement_the_server_ended_before_it_committed_runs_once_more(
    migrated_url: str,
) -> None:
    """``pg_terminate_backend`` while a statement runs: the server answers 57P01 (it rolled the
    statement back), so the step runs again on a new connection and the caller never knows."""
    name = f"wh_ended_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(f"{migrated_url}&application_name={name}")
    runs: list[int] = []

    def step(tx: PostgresTx) -> int:
        runs.append(len(runs))
        if len(runs) == 1:
            threading.Timer(0.3, _terminate, [name]).start()
            tx.conn.execute("SELECT pg_sleep(10)")
        return len(runs)

    try:
        assert store.run(step) == 2
    finally:
        store.close()


def test_a_statement_cut_by_an_immediate_shutdown_is_not_run_again(running: Cluster) -> None:
    """An immediate shutdown (as a crash) closes the connection without a word: the statement
    may have committed, so the error goes to the caller, as a DatabaseError, and the step is not
    run again."""
    store = PostgresStore(running.url("jobs"))
    runs: list[int] = []

    def step(tx: PostgresTx) -> None:
        runs.append(1)
        threading.Timer(0.3, running.ctl, ["stop", "-m", "immediate"]).start()
        tx.conn.execute("SELECT pg_sleep(10)")

    try:
        with pytest.raises(DatabaseError, match="server closed the connection"):
            store.run(step)
        assert len(runs) == 1
    finally:
        store.close()


def _terminate(application_name: str) -> None:
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )


def test_the_listener_comes_back_after_a_restart_and_wakes_its_worker_once(
    running: Cluster,
) -> None:
    """Jobs committed while LISTEN was down were heard by no one: the first wait after the
    listener reconnects reports a wake-up, then notifications work again."""
    workhorse = _open(running.url("jobs"))
    backend = workhorse.backend
    assert isinstance(backend, PostgresBackend)
    listener = backend.listener(["default"])
    assert listener is not None
    try:
        running.ctl("restart")
        running.wait_ready()
        assert not listener.wait(0.5), "the connection is found broken: polling meanwhile"
        woke = [listener.wait(0.2) for _ in range(4)]
        assert woke == [True, False, False, False], "the reconnect wakes the worker, once"
        add.enqueue(1, 2)
        assert listener.wait(10)
    finally:
        listener.close()
        workhorse.close()


def test_pooled_connections_carry_the_server_timeouts_without_any_set(migrated_url: str) -> None:
    store = PostgresStore(f"{migrated_url}&lock_timeout=2s")

    def settings(tx: PostgresTx) -> list[object]:
        names = ["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "jit"]
        query = (
            "SELECT array_agg(current_setting(name) ORDER BY i) AS value"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, i)"
        )
        row = tx.conn.execute(query, [names]).fetchone()
        assert row is not None
        return list(row["value"])

    try:
        assert store.run(settings) == ["30s", "2s", "1min", "off"]
    finally:
        store.close()
