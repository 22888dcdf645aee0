"""Side-by-side benchmark of Workhorse and its peers: Celery, Dramatiq, Procrastinate, RQ, taskiq,
arq and SAQ.

Every system runs the same job (one completion record in Redis, see counter.py) with the same
budget of worker processes and concurrency, against the same Redis and PostgreSQL servers;
systems are interleaved within each round (in an order rotated every round) so they all see the
same machine conditions. Prints one JSON object per system per round, then Markdown tables of
medians over the rounds.

    benchmarks/peers/run.sh --jobs 20000 --workers 2 --concurrency 8 --runs 3
    benchmarks/peers/run.sh --quick

Run with the peers' virtualenv, which run.sh creates with the pinned peers and this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import catalog
import measure
import settings

ALWAYS = ("workhorse-postgresql", "workhorse-sqlite", "pgbench")
REPO = Path(__file__).resolve().parents[2]

Measure = Callable[[], dict[str, Any]]
QUICK = {"jobs": 2000, "single_jobs": 500, "latency_seconds": 2.0, "runs": 1}
"""--quick: a check that every system runs, not a measurement."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--jobs", "-n", type=int, default=20_000, help="jobs per throughput run")
    parser.add_argument("--workers", "-p", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", "-c", type=int, default=8, help="per worker process")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--single-jobs", type=int, default=2000, help="jobs enqueued one by one")
    parser.add_argument(
        "--rates", default="500,2000", help="offered jobs/s of the latency runs (empty: none)"
    )
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="per offered rate")
    parser.add_argument("--producers", type=int, default=2, help="producer processes")
    parser.add_argument("--quick", action="store_true", help="2,000 jobs, 1 run, 2 s latency")
    parser.add_argument(
        "--only",
        default=",".join(catalog.DEFAULT),
        help=f"peers to run (of {','.join(catalog.PEERS)})",
    )
    parser.add_argument(
        "--skip",
        default="",
        help=f"systems always run unless named here (of {','.join(ALWAYS)})",
    )
    parser.add_argument("--pgbench-seconds", type=float, default=8.0, help="0 to skip pgbench")
    parser.add_argument(
        "--stall-timeout", type=float, default=60.0, help="seconds without progress"
    )
    parser.add_argument("--redis-url", default=settings.REDIS_URL, help="a Redis db of its own")
    parser.add_argument("--postgres-url", default=settings.POSTGRES_URL, help="server, no database")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)
    args.only = _names(args.only)
    args.skip = set(_names(args.skip))
    unknown = sorted(set(args.only) - set(catalog.PEERS)) + sorted(args.skip - set(ALWAYS))
    if unknown:
        parser.error(f"unknown systems: {', '.join(unknown)}")
    try:
        args.rates = tuple(float(rate) for rate in _names(args.rates))
    except ValueError:
        parser.error(f"--rates takes numbers separated by commas, not {args.rates!r}")
    for name in ("jobs", "workers", "concurrency", "runs", "single_jobs", "producers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if any(rate <= 0 for rate in args.rates) or args.latency_seconds <= 0:
        parser.error("rates and --latency-seconds must be positive")
    return args


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@dataclass(frozen=True, slots=True)
class System:
    name: str
    info: dict[str, Any]
    """Printed with every record of this system: version, configuration, workload."""
    measure: Measure


def systems(args: argparse.Namespace, tmp: Path) -> list[System]:
    """The measured systems, Workhorse first and pgbench last."""
    budget = measure.Budget(
        jobs=args.jobs,
        workers=args.workers,
        concurrency=args.concurrency,
        single_jobs=args.single_jobs,
        rates=args.rates,
        latency_s=args.latency_seconds,
        producers=args.producers,
        stall_s=args.stall_timeout,
    )
    names = [name for name in catalog.WORKHORSE if name not in args.skip] + args.only
    found = [_system(name, budget, tmp) for name in names]
    if args.pgbench_seconds > 0 and "pgbench" not in args.skip:
        found.append(_pgbench(args.pgbench_seconds, tmp))
    return found


def _system(name: str, budget: measure.Budget, tmp: Path) -> System:
    peer = catalog.make(name)
    info = {
        "system": name,
        "version": metadata.version(peer.distribution),
        "config": peer.describe(budget.workers, budget.concurrency),
        "jobs": budget.jobs,
        "workers": budget.workers,
        "concurrency": budget.concurrency,
    }
    return System(name, info, lambda: measure.run_peer(peer, budget, tmp).as_dict())


def _pgbench(seconds: float, tmp: Path) -> System:
    import pg
    import pgbench

    pgbench.prepare()
    info = {
        "system": "pgbench",
        "version": pg.server_version(),
        "config": pgbench.describe(seconds),
    }
    return System("pgbench", info, lambda: {"tps": pgbench.measure(seconds, tmp)})


def rotated(items: list[Any], by: int) -> list[Any]:
    by %= len(items)
    return items[by:] + items[:by]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # On SIGTERM unwind like on Ctrl-C, so the workers started so far are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings.export(args.redis_url, args.postgres_url)
    import report
    import versions

    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="peers-bench-") as tmp:
        os.environ["PEERS_TMP"] = tmp
        measured = systems(args, Path(tmp))
        found_versions = versions.collect(REPO)
        print(json.dumps({"versions": found_versions}, ensure_ascii=False), flush=True)
        for run in range(1, args.runs + 1):
            for system in rotated(measured, run - 1):
                record = _measure(system, run)
                print(json.dumps(record, ensure_ascii=False), flush=True)
                records.append(record)
    print()
    print(
        f"{args.jobs:,} jobs, {args.workers} worker processes × concurrency "
        f"{args.concurrency}, {args.runs} run(s): median (min–max)\n"
    )
    print(report.table(records))
    print()
    print(report.latency_table(records))
    print("\nVersions: " + ", ".join(f"{key} {value}" for key, value in found_versions.items()))
    return 1 if any("error" in record for record in records) else 0


def _measure(system: System, run: int) -> dict[str, Any]:
    try:
        return {"run": run, **system.info} | system.measure()
    except Exception as error:  # one failing system must not hide the others' numbers
        traceback.print_exc(file=sys.stderr)
        return {"run": run, **system.info, "error": f"{type(error).__name__}: {error}"}


if __name__ == "__main__":
    sys.exit(main())
