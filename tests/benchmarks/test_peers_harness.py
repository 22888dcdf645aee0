"""The peers benchmark's summary: medians, spreads, ratios and the Markdown table.

`benchmarks/peers/report.py` uses the standard library only, so it is loaded from its file here
without the peers' virtualenv.
"""

# The table prints the multiplication sign (ratios) and the en dash (ranges) on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPORT = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "report.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peers_report", REPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


report = _load()


def _peer(run: int, system: str, throughput: float, **extra: Any) -> dict[str, Any]:
    return {
        "run": run,
        "system": system,
        "version": "1.0",
        "config": f"2 × {system} worker",
        "enqueue_per_s": throughput * 2,
        "single_enqueue_per_s": throughput / 2,
        "throughput_per_s": throughput,
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
        " | workhorse-postgresql ÷ system | workhorse-sqlite ÷ system |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| workhorse-postgresql | 1.0 | 9,000 (8,000–10,000) | 2,250 (2,000–2,500)"
        " | 4,500 (4,000–5,000) | 1.00× | 1.89× |",
        "| workhorse-sqlite | 1.0 | 17,000 (16,000–18,000) | 4,250 (4,000–4,500)"
        " | 8,500 (8,000–9,000) | 0.53× | 1.00× |",
        "| dramatiq | 1.0 | 3,000 (2,000–4,000) | 750 (500–1,000)"
        " | 1,500 (1,000–2,000) | 3.00× | 5.67× |",
        "| procrastinate | 3.1 | — | — | — | — | — |",
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
        "| system | version | enqueue/s (bulk) | single enqueue/s | throughput jobs/s |"
    )
    assert lines[2] == "| celery | 1.0 | 2,468 | 617 | 1,234 |"
