"""Failover and restart under load, measured: recovery time, failed enqueue calls, jobs lost,
duplicate executions.

Runs the acceptance scenario (tests/acceptance/_failover.py: private clusters, 3 workers and the
API, Python and HTTP clients at 200 jobs/s each) ``--runs`` times for each kind of cut,
interleaved, and prints one JSON object per run and the medians. Needs root and Debian's
postgresql-common (it creates and drops its own clusters on ports 5440 and up).

    .venv/bin/python benchmarks/failover.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from acceptance._failover import Outcome, run_cut
from acceptance._harness import Workspace
from acceptance.fixtures import tasksmod
from pgprivate import Cluster, failover_url, primary_and_standby, private_cluster

BEFORE, AFTER = 3.0, 8.0


def _measure(url: str, cut: Callable[[], None]) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        space = Workspace(Path(tmp))
        space.db_url = url
        try:
            migrated = space.cli("migrate")
            assert migrated.returncode == 0, migrated.stderr
            tasksmod.app.close()
            tasksmod.app.database_url = url
            return run_cut(space, tasksmod.app, cut, before=BEFORE, after=AFTER)
        finally:
            space.close()
            tasksmod.app.close()


def failover(synchronous: bool) -> Outcome:
    with primary_and_standby(synchronous=synchronous) as (primary, standby):

        def cut() -> None:
            primary.ctl("stop", "-m", "immediate")  # as a crash: no WAL sent at shutdown
            standby.ctl("promote")

        return _measure(failover_url([primary, standby]), cut)


def restart() -> Outcome:
    with private_cluster() as cluster:
        return _measure(cluster.url("jobs"), lambda: _restart(cluster))


def _restart(cluster: Cluster) -> None:
    cluster.ctl("restart")


def _figures(outcome: Outcome) -> dict[str, float]:
    return {
        "recovery_s": round(outcome.recovery_seconds, 2),
        "cut_s": round(outcome.cut_seconds, 2),
        "failed_http": outcome.failed["http"],
        "failed_python": outcome.failed["python"],
        "acknowledged": outcome.acknowledged,
        "lost": outcome.lost,
        "duplicates": outcome.duplicates,
        "jobs_per_s": round(outcome.jobs_per_second),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--async-standby", action="store_true", help="Also fail over to an asynchronous standby."
    )
    args = parser.parse_args()
    scenarios: dict[str, Callable[[], Outcome]] = {
        "failover_sync": lambda: failover(True),
        "restart": restart,
    }
    if args.async_standby:
        scenarios["failover_async"] = lambda: failover(False)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
    for run in range(args.runs):
        for name, scenario in scenarios.items():
            figures = _figures(scenario())
            results[name].append(figures)
            print(json.dumps({"scenario": name, "run": run + 1, **figures}), flush=True)
    for name, runs in results.items():
        medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(json.dumps({"scenario": name, "median_of": len(runs), **medians}), flush=True)


if __name__ == "__main__":
    main()
