"""The summary table: medians and spreads over runs, and Workhorse's ratio to each system.

Pure functions over the JSON records the runner prints (standard library only), so the numbers
in the table can be recomputed from a saved log and the formatting is tested on its own.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]

REFERENCES = ("workhorse-postgresql", "workhorse-sqlite")
"""The Workhorse systems every other system is compared with."""

PGBENCH = "pgbench"
MISSING = "—"


@dataclass(frozen=True, slots=True)
class Spread:
    """Median, minimum and maximum of a measure over runs."""

    median: float
    low: float
    high: float
    count: int


@dataclass(frozen=True, slots=True)
class Row:
    system: str
    version: str
    config: str
    enqueue: Spread | None
    single: Spread | None
    throughput: Spread | None
    cpu: Spread | None
    """Workers' and servers' CPU microseconds per job."""
    worker_cpu: Spread | None
    runs: int
    errors: int
    lost: int


def spread(values: Iterable[float | None]) -> Spread | None:
    """The spread of the finite values; None when there are none."""
    finite = sorted(v for v in values if v is not None and math.isfinite(v))
    if not finite:
        return None
    return Spread(statistics.median(finite), finite[0], finite[-1], len(finite))


def format_rate(value: float) -> str:
    return f"{value:,.0f}"


def format_ms(value: float) -> str:
    return f"{value:,.1f}"


def format_spread(value: Spread | None, number: Callable[[float], str] = format_rate) -> str:
    """``median (min–max)``, or the median alone for a single run."""
    if value is None:
        return MISSING
    if value.count == 1:
        return number(value.median)
    return f"{number(value.median)} ({number(value.low)}–{number(value.high)})"


def ratio(numerator: Spread | None, denominator: Spread | None) -> float | None:
    """Ratio of the medians; None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator.median <= 0:
        return None
    return numerator.median / denominator.median


def format_ratio(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}×"


def rows(records: Iterable[Record]) -> list[Row]:
    """One row per system (pgbench excluded), in the order the systems first appear."""
    grouped: dict[str, list[Record]] = {}
    for record in records:
        if record.get("system") != PGBENCH:
            grouped.setdefault(str(record["system"]), []).append(record)
    return [_row(system, group) for system, group in grouped.items()]


def _row(system: str, group: Sequence[Record]) -> Row:
    ok = [record for record in group if "error" not in record]
    first = ok[0] if ok else group[0]
    return Row(
        system=system,
        version=str(first.get("version", MISSING)),
        config=str(first.get("config", "")),
        enqueue=spread(record.get("enqueue_per_s") for record in ok),
        single=spread(record.get("single_enqueue_per_s") for record in ok),
        throughput=spread(record.get("throughput_per_s") for record in ok),
        cpu=spread(record.get("cpu_per_job_us") for record in ok),
        worker_cpu=spread(record.get("worker_cpu_per_job_us") for record in ok),
        runs=len(group),
        errors=len(group) - len(ok),
        lost=sum(int(record.get("lost", 0)) for record in ok),
    )


def table(records: Sequence[Record]) -> str:
    """The Markdown table, with the configurations and the pgbench limit below it."""
    found = rows(records)
    references = {row.system: row for row in found if row.system in REFERENCES}
    ratio_heads = [f"{name} ÷ system" for name in REFERENCES if name in references]
    head = ["system", "version", "enqueue/s (bulk)", "single enqueue/s", "throughput jobs/s"]
    tail = ["CPU µs/job", "of which workers"]
    width = len(head) + len(ratio_heads) + len(tail)
    lines = [_line([*head, *ratio_heads, *tail]), _line(["---"] * width)]
    for row in found:
        ratios = [
            format_ratio(ratio(references[name].throughput, row.throughput))
            for name in REFERENCES
            if name in references
        ]
        cells = [
            row.system,
            row.version,
            format_spread(row.enqueue),
            format_spread(row.single),
            format_spread(row.throughput),
        ]
        cpu = [format_spread(row.cpu), format_spread(row.worker_cpu)]
        lines.append(_line(cells + ratios + cpu))
    return "\n".join(lines + _notes(found) + _pgbench(records))


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _notes(found: Sequence[Row]) -> list[str]:
    notes = ["", "Configurations:"]
    notes += [f"- {row.system}: {row.config}" for row in found if row.config]
    for row in found:
        if row.errors:
            notes.append(f"- {row.system}: {row.errors} of {row.runs} runs failed")
        if row.lost:
            notes.append(f"- {row.system}: {row.lost} jobs not completed over all runs")
    return notes


def _pgbench(records: Iterable[Record]) -> list[str]:
    tps = spread(r.get("tps") for r in records if r.get("system") == PGBENCH and "error" not in r)
    if tps is None:
        return []
    return [
        "",
        f"Physical limit (pgbench, single-row UPDATE by primary key, 4 clients): "
        f"{format_spread(tps)} commits/s",
    ]


LATENCY_FIGURES = ("p50_ms", "p99_ms", "max_ms")


def latency_table(records: Sequence[Record]) -> str:
    """Enqueue returned → job started, per system and offered rate: median (min–max) in ms.

    A rate above the throughput a system drained in the same round is not measured there.
    """
    rates = sorted({entry["offered_per_s"] for r in records for entry in r.get("latency", [])})
    if not rates:
        return ""
    heads = [f"{name[:-3]} @ {rate:,.0f}/s" for rate in rates for name in LATENCY_FIGURES]
    lines = [_line(["system", *heads]), _line(["---"] * (len(heads) + 1))]
    grouped = _ok_by_system(records)
    for system, group in grouped.items():
        cells = [_latency_cell(group, rate, name) for rate in rates for name in LATENCY_FIGURES]
        lines.append(_line([system, *cells]))
    return "\n".join(lines + _short_rates(grouped, rates))


def _ok_by_system(records: Iterable[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for record in records:
        if record.get("system") != PGBENCH and "error" not in record:
            grouped.setdefault(str(record["system"]), []).append(record)
    return grouped


def _at(record: Record, rate: float) -> Record | None:
    found = [e for e in record.get("latency", []) if e["offered_per_s"] == rate]
    return found[0] if found else None


def _latency_spread(group: Iterable[Record], rate: float, name: str) -> Spread | None:
    return spread((_at(record, rate) or {}).get(name) for record in group)


SATURATED = "saturated"


def _latency_cell(group: Sequence[Record], rate: float, name: str) -> str:
    """The spread over the rounds measured; "saturated" when the rate was above throughput."""
    found = _latency_spread(group, rate, name)
    if found is None and any((_at(record, rate) or {}).get("saturated") for record in group):
        return SATURATED
    return format_spread(found, format_ms)


def _short_rates(grouped: Mapping[str, list[Record]], rates: Iterable[float]) -> list[str]:
    """A note for every system whose producers fell short of a rate, or whose jobs went missing."""
    notes = []
    for rate in rates:
        for system, group in grouped.items():
            achieved = _latency_spread(group, rate, "achieved_per_s")
            if achieved is not None and achieved.median < rate * 0.95:
                notes.append(
                    f"- {system} at {rate:,.0f}/s: the enqueue calls returned at "
                    f"{format_spread(achieved)}/s"
                )
            missing = sum(int((_at(r, rate) or {}).get("missing", 0)) for r in group)
            if missing:
                notes.append(f"- {system} at {rate:,.0f}/s: {missing} jobs never started")
    return ["", *notes] if notes else []
