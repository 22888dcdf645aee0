"""The peers benchmark's summary: medians, spreads, ratios, latency percentiles and the tables.

`benchmarks/peers/report.py` and `stats.py` use the standard library only, so they are loaded
from their files here without the peers' virtualenv.
"""

# The table prints the multiplication sign (ratios) and the en dash (ranges) on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PEERS = Path(__file__).resolve().parents[2] / "benchmarks" / "peers"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


report = _load("report")
stats = _load("stats")


def _peer(run: int, system: str, throughput: float, **extra: Any) -> dict[str, Any]:
    return {
        "run": run,
        "system": system,
        "version": "1.0",
        "config": f"2 × {system} worker",
        "enqueue_per_s": throughput * 2,
        "single_enqueue_per_s": throughput / 2,
        "throughput_per_s": throughput,
        "cpu_per_job_us": 1e6 / throughput,
        "worker_cpu_per_job_us": 0.5e6 / throughput,
        "lost": 0,
        **extra,
    }


def test_spread_is_median_min_max_of_the_finite_values() -> None:
    found = report.spread([300.0, None, 100.0, math.nan, 200.0, 1000.0])
    assert found == report.Spread(median=250.0, low=100.0, high=1000.0, count=4)
    assert report.spread([None, math.nan, math.inf]) is None
    assert report.spread([]) is None


def test_spread_shows_the_range_only_over_several_runs() -> None:
    assert report.format_spread(report.spread([5210.4])) == "5,210"
    assert report.format_spread(report.spread([5210.4, 4900.0, 6001.6])) == "5,210 (4,900–6,002)"
    assert report.format_spread(None) == "—"


def test_ratio_is_of_the_medians() -> None:
    workhorse = report.spread([5000.0, 6000.0, 7000.0])
    peer = report.spread([1000.0, 2400.0, 9000.0])
    assert report.ratio(workhorse, peer) == pytest.approx(2.5)
    assert report.format_ratio(report.ratio(workhorse, peer)) == "2.50×"
    assert report.ratio(workhorse, report.spread([0.0])) is None
    assert report.ratio(None, peer) is None
    assert report.format_ratio(None) == "—"


def test_rows_group_runs_per_system_in_order_and_count_failures() -> None:
    records = [
        _peer(1, "celery", 900.0),
        {"run": 1, "system": "pgbench", "tps": 6000.0},
        _peer(1, "rq", 60.0, lost=3),
        {"run": 2, "system": "rq", "version": "1.0", "error": "TimeoutError: stalled"},
        _peer(2, "celery", 1100.0),
    ]
    celery, rq = report.rows(records)
    assert (celery.system, celery.runs, celery.errors) == ("celery", 2, 0)
    assert celery.throughput == report.Spread(1000.0, 900.0, 1100.0, 2)
    assert celery.single == report.Spread(500.0, 450.0, 550.0, 2)
    assert (rq.system, rq.runs, rq.errors, rq.lost) == ("rq", 2, 1, 3)
    assert rq.throughput == report.Spread(60.0, 60.0, 60.0, 1)


def test_table_compares_every_system_with_workhorse() -> None:
    records = [
        _peer(1, "workhorse-postgresql", 4000.0),
        _peer(1, "workhorse-sqlite", 8000.0),
        _peer(1, "dramatiq", 2000.0),
        {"run": 1, "system": "pgbench", "tps": 6203.0},
        _peer(2, "dramatiq", 1000.0),
        _peer(2, "workhorse-postgresql", 5000.0),
        _peer(2, "workhorse-sqlite", 9000.0),
        {"run": 2, "system": "pgbench", "tps": 5791.0},
        {"run": 2, "system": "procrastinate", "version": "3.1", "error": "RuntimeError: x"},
    ]
    assert report.table(records).splitlines() == [
        "| system | version | enqueue/s (bulk) | single enqueue/s | throughput jobs/s"
        " | workhorse-postgresql ÷ system | workhorse-sqlite ÷ system"
        " | CPU µs/job | of which workers |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        "| workhorse-postgresql | 1.0 | 9,000 (8,000–10,000) | 2,250 (2,000–2,500)"
        " | 4,500 (4,000–5,000) | 1.00× | 1.89× | 225 (200–250) | 112 (100–125) |",
        "| workhorse-sqlite | 1.0 | 17,000 (16,000–18,000) | 4,250 (4,000–4,500)"
        " | 8,500 (8,000–9,000) | 0.53× | 1.00× | 118 (111–125) | 59 (56–62) |",
        "| dramatiq | 1.0 | 3,000 (2,000–4,000) | 750 (500–1,000)"
        " | 1,500 (1,000–2,000) | 3.00× | 5.67× | 750 (500–1,000) | 375 (250–500) |",
        "| procrastinate | 3.1 | — | — | — | — | — | — | — |",
        "",
        "Configurations:",
        "- workhorse-postgresql: 2 × workhorse-postgresql worker",
        "- workhorse-sqlite: 2 × workhorse-sqlite worker",
        "- dramatiq: 2 × dramatiq worker",
        "- procrastinate: 1 of 1 runs failed",
        "",
        "Physical limit (pgbench, single-row UPDATE by primary key, 4 clients):"
        " 5,997 (5,791–6,203) commits/s",
    ]


def test_table_without_workhorse_has_no_ratio_columns() -> None:
    lines = report.table([_peer(1, "celery", 1234.0)]).splitlines()
    assert lines[0] == (
        "| system | version | enqueue/s (bulk) | single enqueue/s | throughput jobs/s"
        " | CPU µs/job | of which workers |"
    )
    assert lines[2] == "| celery | 1.0 | 2,468 | 617 | 1,234 | 810 | 405 |"


def _latency(rate: float, p50: float, achieved: float | None = None, missing: int = 0) -> Any:
    return {
        "offered_per_s": rate,
        "achieved_per_s": achieved or rate,
        "p50_ms": p50,
        "p99_ms": p50 * 4,
        "max_ms": p50 * 10,
        "jobs": 100,
        "missing": missing,
    }


def test_latency_table_gives_each_rate_its_percentiles_with_ranges() -> None:
    records = [
        _peer(1, "arq", 900.0, latency=[_latency(500, 1.0), _latency(2000, 3.0)]),
        _peer(2, "arq", 900.0, latency=[_latency(500, 2.0), _latency(2000, 5.0, 1500.0)]),
        _peer(1, "saq", 900.0, latency=[_latency(500, 0.25, missing=2)]),
        _peer(
            1,
            "celery",
            300.0,
            latency=[_latency(500, 0.5), dataclasses.asdict(stats.Latency.above(2000))],
        ),
        _peer(
            2,
            "celery",
            300.0,
            latency=[_latency(500, 0.7), dataclasses.asdict(stats.Latency.above(2000))],
        ),
        {"run": 1, "system": "rq", "error": "RuntimeError: x"},
    ]
    assert report.latency_table(records).splitlines() == [
        "| system | p50 @ 500/s | p99 @ 500/s | max @ 500/s"
        " | p50 @ 2,000/s | p99 @ 2,000/s | max @ 2,000/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| arq | 1.5 (1.0–2.0) | 6.0 (4.0–8.0) | 15.0 (10.0–20.0)"
        " | 4.0 (3.0–5.0) | 16.0 (12.0–20.0) | 40.0 (30.0–50.0) |",
        "| saq | 0.2 | 1.0 | 2.5 | — | — | — |",
        "| celery | 0.6 (0.5–0.7) | 2.4 (2.0–2.8) | 6.0 (5.0–7.0)"
        " | saturated | saturated | saturated |",
        "",
        "- saq at 500/s: 2 jobs never started",
        "- arq at 2,000/s: the enqueue calls returned at 1,750 (1,500–2,000)/s",
    ]
    assert report.latency_table([_peer(1, "arq", 900.0)]) == ""


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert stats.percentile(values, 0.50) == 50.0
    assert stats.percentile(values, 0.99) == 99.0
    assert stats.percentile([7.0], 0.99) == 7.0
    assert math.isnan(stats.percentile([], 0.5))


def test_latency_is_start_minus_enqueue_return_over_the_jobs_seen() -> None:
    returned = {0: 100.0, 1: 100.5, 2: 101.0, 3: 101.5}
    found = {0: (100.002, 100.003), 1: (100.504, 100.6), 2: (101.001, 101.1)}
    latency = stats.summarise_latency(2.0, 99.5, returned, found)
    assert latency.offered_per_s == 2.0
    assert latency.achieved_per_s == pytest.approx(2.0)
    assert latency.p50_ms == pytest.approx(2.0)
    assert latency.p99_ms == pytest.approx(4.0)
    assert latency.max_ms == pytest.approx(4.0)
    assert (latency.jobs, latency.missing) == (4, 1)


cpu = _load("cpu")


def test_cpu_between_readings_counts_a_new_process_in_full() -> None:
    before = {10: 100, 11: 50}
    after = {10: 160, 12: 40}  # 11 ended between the readings; 12 started
    assert cpu.used_s(before, after) == pytest.approx(100 / cpu.CLOCK_TICKS)


def test_cpu_reads_this_process_and_its_group() -> None:
    own = cpu.ticks([os.getpid()])
    assert list(own) == [os.getpid()]
    assert os.getpid() in cpu.group_members([os.getpgrp()])
    assert cpu.ticks([2**22 + 7]) == {}
