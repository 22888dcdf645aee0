"""The summary table: medians and spreads over runs, and Workhorse's ratio to each system.

Pure functions over the JSON records the runner prints (standard library only), so the numbers
in the table can be recomputed from a saved log and the formatting is tested on its own.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
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


def format_spread(value: Spread | None) -> str:
    """``median (min–max)``, or the median alone for a single run."""
    if value is None:
        return MISSING
    if value.count == 1:
        return format_rate(value.median)
    return f"{format_rate(value.median)} ({format_rate(value.low)}–{format_rate(value.high)})"


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
    lines = [_line([*head, *ratio_heads]), _line(["---"] * (len(head) + len(ratio_heads)))]
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
        lines.append(_line(cells + ratios))
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
