"""`workhorse bench`: real worker processes, one JSON object with the documented keys, counted
(not assumed) losses and duplicates, and a progress bar only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading

import psycopg
import pytest

from pgtest import postgres_schema
from workhorse.app import Workhorse
from workhorse.backends import open_backend
from workhorse.backends.base import JobListParams
from workhorse.bench.throughput import prepare
from workhorse.clock import utc_day

KEYS = {
    "backend",
    "mode",
    "jobs",
    "workers",
    "concurrency",
    "enqueue_per_s",
    "throughput_per_s",
    "latency_ms",
    "lost",
    "duplicates",
    "cpu_s",
    "runs",
}


def _bench(*args: str, stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workhorse", "bench", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_throughput_on_sqlite_prints_one_json_object_with_the_documented_keys() -> None:
    done = _bench("--jobs", "300", "--workers", "2", "--concurrency", "10")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == KEYS
    assert (result["backend"], result["mode"], result["jobs"]) == ("sqlite", "throughput", 300)
    assert (result["workers"], result["concurrency"]) == (2, 10)
    assert set(result["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert (result["lost"], result["duplicates"]) == (0, 0)
    assert result["throughput_per_s"] > 0 and result["enqueue_per_s"] > 0
    assert result["cpu_s"] > 0, "the workers' CPU time is measured"
    assert "\x1b[" not in done.stderr, "no progress bar when stderr is not a terminal"


@pytest.mark.slow
def test_runs_on_postgres_report_medians_and_every_run() -> None:
    with postgres_schema() as url:
        open_backend(url, auto_migrate=True).close()
        done = _bench("--database-url", url, "--jobs", "200", "--workers", "1", "--runs", "2")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["backend"] == "postgresql"
    assert len(result["runs"]) == 2
    assert sorted(result["runs"])[0] <= result["throughput_per_s"] <= sorted(result["runs"])[1]
    assert (result["lost"], result["duplicates"]) == (0, 0)


def test_a_run_starts_with_the_day_partitions_the_maintenance_keeps_ahead() -> None:
    """Otherwise the first worker's maintenance creates them during the run, under an exclusive
    lock of the jobs that every claim and completion queues behind."""
    with postgres_schema() as url:
        app = Workhorse(database_url=url)
        app.migrate()
        with psycopg.connect(url) as conn:
            before = _day_partitions(conn)
            prepare(app)
            after = _day_partitions(conn)
        app.close()
    today = utc_day(app.clock())
    assert before == []
    assert today.strftime("workhorse_jobs_%Y%m%d") in after and len(after) == 3


def _day_partitions(conn: psycopg.Connection[tuple[str]]) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relname ~ '^workhorse_jobs_[0-9]{8}$'"
    ).fetchall()
    return sorted(name for (name,) in rows)


@pytest.mark.slow
def test_latency_mode_offers_jobs_open_loop() -> None:
    done = _bench("--mode", "latency", "--rate", "50", "--duration", "1", "--workers", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["mode"], result["jobs"], result["lost"]) == ("latency", 50, 0)
    assert 0 <= result["latency_ms"]["p50"] <= result["latency_ms"]["max"]


@pytest.mark.slow
def test_workflow_mode_compares_a_fan_out_with_independent_jobs() -> None:
    done = _bench("--mode", "workflow", "--jobs", "200", "--workers", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["mode"], result["jobs"], result["lost"]) == ("workflow", 200, 0)
    assert result["workflow_s"] > 0 and result["independent_s"] > 0
    assert result["ratio"] == result["workflow_s"] / result["independent_s"]
    assert 0 < result["result_overhead_ms"]["p50"] <= result["result_overhead_ms"]["max"]


def _drain(controller: int, into: list[bytes]) -> None:
    """Read the terminal while the bench draws on it: an unread pty fills and blocks the writer."""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.append(chunk)


@pytest.mark.slow
def test_a_terminal_gets_a_progress_bar_on_stderr() -> None:
    controller, terminal = pty.openpty()
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(controller, chunks), daemon=True)
    reader.start()
    try:
        done = _bench("--jobs", "300", "--workers", "1", stderr=terminal)
    finally:
        os.close(terminal)
        reader.join(timeout=10)
        os.close(controller)
    drawn = b"".join(chunks)
    assert done.returncode == 0
    assert json.loads(done.stdout)["lost"] == 0, "stdout stays one JSON object"
    assert b"run 1/1 enqueue" in drawn
    assert b"run 1/1 drain" in drawn


ENQUEUE_KEYS = {
    "backend",
    "mode",
    "transport",
    "jobs",
    "producers",
    "tenants",
    "enqueue_per_s",
    "call_ms",
    "lost",
    "cpu_s",
    "runs",
}


@pytest.mark.slow
def test_enqueue_mode_counts_single_enqueues_from_concurrent_producers() -> None:
    done = _bench("--mode", "enqueue", "--jobs", "60", "--producers", "3", "--tenants", "2")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == ENQUEUE_KEYS
    assert (result["mode"], result["transport"], result["jobs"]) == ("enqueue", "python", 60)
    assert (result["producers"], result["tenants"], result["lost"]) == (3, 2, 0)
    assert set(result["call_ms"]) == {"p50", "p95", "p99", "max"}
    assert 0 < result["call_ms"]["p50"] <= result["call_ms"]["max"]
    assert result["enqueue_per_s"] > 0 and len(result["runs"]) == 1


@pytest.mark.slow
def test_enqueue_mode_over_http_on_postgres() -> None:
    with postgres_schema() as url:
        open_backend(url, auto_migrate=True).close()
        done = _bench(
            "--database-url", url, "--mode", "enqueue", "--http", "--jobs", "40", "--producers", "2"
        )
        backend = open_backend(url)
        jobs = backend.job_list(JobListParams(limit=100))
        backend.close()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["backend"], result["transport"], result["lost"]) == ("postgresql", "http", 0)
    # 40 measured jobs and one warm-up job per producer, every one stored
    assert len(jobs) == 42
    assert result["enqueue_per_s"] > 0


@pytest.mark.parametrize("mode", ["throughput", "enqueue"])
def test_a_database_without_the_schema_is_a_one_line_error(mode: str) -> None:
    with postgres_schema() as url:
        done = _bench("--database-url", url, "--mode", mode, "--jobs", "10", "--producers", "2")
    assert done.returncode == 1
    assert "no Workhorse schema" in done.stderr and "workhorse migrate" in done.stderr
    assert "Traceback" not in done.stderr
