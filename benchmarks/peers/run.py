"""Side-by-side benchmark of Workhorse and its peers: Celery, Dramatiq, Procrastinate and RQ.

Every system runs the same no-op workload with the same budget of worker processes and
concurrency, against the same Redis and PostgreSQL servers; systems are interleaved within each
run (in a rotating order) so they all see the same machine conditions. Prints one JSON object per
system per run, then a Markdown table of medians over the runs.

    benchmarks/peers/run.sh --jobs 10000 --workers 2 --concurrency 8 --runs 3

Run with the peers' virtualenv (run.sh creates it); Workhorse runs from <repo>/.venv.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import settings

PEERS = ("celery", "dramatiq", "procrastinate", "rq", "rq-simple")
ALWAYS = ("workhorse-postgresql", "workhorse-sqlite", "pgbench")
REPO = Path(__file__).resolve().parents[2]

Measure = Callable[[], dict[str, Any]]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--jobs", "-n", type=int, default=10_000, help="no-op jobs per run")
    parser.add_argument("--workers", "-p", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", "-c", type=int, default=8, help="per worker process")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--single-jobs", type=int, default=2000, help="jobs enqueued one by one")
    parser.add_argument(
        "--only", default=",".join(PEERS), help=f"peers to run (of {','.join(PEERS)})"
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
    parser.add_argument("--timeout", type=float, default=900.0, help="per Workhorse bench call")
    parser.add_argument("--repo", type=Path, default=REPO, help="Workhorse checkout with .venv")
    parser.add_argument("--redis-url", default=settings.REDIS_URL, help="a Redis db of its own")
    parser.add_argument("--postgres-url", default=settings.POSTGRES_URL, help="server, no database")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    args.skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    unknown = sorted(set(args.only) - set(PEERS)) + sorted(args.skip - set(ALWAYS))
    if unknown:
        parser.error(f"unknown systems: {', '.join(unknown)}")
    for name in ("jobs", "workers", "concurrency", "runs", "single_jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _peer(name: str) -> Any:
    # Imported here: each module reads settings (the broker URLs) when it is imported.
    if name == "celery":
        from peer_celery import CeleryPeer

        return CeleryPeer()
    if name == "dramatiq":
        from peer_dramatiq import DramatiqPeer

        return DramatiqPeer()
    if name == "procrastinate":
        from peer_procrastinate import ProcrastinatePeer

        return ProcrastinatePeer()
    from peer_rq import RQPeer

    return RQPeer(name, "rq.worker.SimpleWorker" if name == "rq-simple" else None)


@dataclass(frozen=True, slots=True)
class System:
    name: str
    info: dict[str, Any]
    """Printed with every record of this system: version, configuration, workload."""
    measure: Measure


def systems(args: argparse.Namespace, tmp: Path) -> list[System]:
    """The measured systems, Workhorse first and pgbench last."""
    workload = {"jobs": args.jobs, "workers": args.workers, "concurrency": args.concurrency}
    found = [
        _workhorse(args, backend, tmp, workload)
        for backend in ("postgresql", "sqlite")
        if f"workhorse-{backend}" not in args.skip
    ]
    found += [_peer_system(args, name, tmp, workload) for name in args.only]
    if args.pgbench_seconds > 0 and "pgbench" not in args.skip:
        found.append(_pgbench(args.pgbench_seconds, tmp))
    return found


def _workhorse(
    args: argparse.Namespace, backend: str, tmp: Path, workload: dict[str, int]
) -> System:
    from peer_workhorse import WorkhorseSystem

    system = WorkhorseSystem(args.repo, backend, tmp, args.timeout)
    info = {
        "system": system.name,
        "version": system.version(),
        "config": system.describe(args.workers, args.concurrency),
        **workload,
    }
    return System(
        system.name, info, lambda: system.measure(**workload, single_jobs=args.single_jobs)
    )


def _peer_system(
    args: argparse.Namespace, name: str, tmp: Path, workload: dict[str, int]
) -> System:
    import measure

    peer = _peer(name)
    info = {
        "system": name,
        "version": metadata.version(peer.distribution),
        "config": peer.describe(args.workers, args.concurrency),
        **workload,
    }

    def run_peer() -> dict[str, Any]:
        result = measure.run_peer(
            peer, **workload, single_jobs=args.single_jobs, logs=tmp, stall_s=args.stall_timeout
        )
        return result.as_dict()

    return System(name, info, run_peer)


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
        measured = systems(args, Path(tmp))
        found_versions = versions.collect(args.repo, _workhorse_version(measured))
        print(json.dumps({"versions": found_versions}, ensure_ascii=False), flush=True)
        for run in range(1, args.runs + 1):
            for system in rotated(measured, run - 1):
                record = _measure(system, run)
                print(json.dumps(record, ensure_ascii=False), flush=True)
                records.append(record)
    print()
    print(
        f"{args.jobs:,} no-op jobs, {args.workers} worker processes × concurrency "
        f"{args.concurrency}, {args.runs} run(s): median (min–max)\n"
    )
    print(report.table(records))
    print("\nVersions: " + ", ".join(f"{key} {value}" for key, value in found_versions.items()))
    return 1 if any("error" in record for record in records) else 0


def _measure(system: System, run: int) -> dict[str, Any]:
    try:
        return {"run": run, **system.info} | system.measure()
    except Exception as error:  # one failing system must not hide the others' numbers
        traceback.print_exc(file=sys.stderr)
        return {"run": run, **system.info, "error": f"{type(error).__name__}: {error}"}


def _workhorse_version(measured: list[System]) -> str:
    found = [system.info["version"] for system in measured if system.name.startswith("workhorse")]
    return str(found[0]) if found else "not measured"


if __name__ == "__main__":
    sys.exit(main())
