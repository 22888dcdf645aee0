"""``workhorse bench``: measure throughput side by side with the database's own limits."""

from __future__ import annotations

import functools
import json
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict

import click
from rich.console import Console
from rich.progress import Progress, TaskID

from workhorse.bench import enqueue, latency, mixed, noisy, throughput, workflow
from workhorse.bench.throughput import RunResult
from workhorse.cli._common import friendly_errors


@click.command()
@click.option(
    "--database-url",
    envvar="WORKHORSE_BENCH_DATABASE_URL",
    help="Database to benchmark (default: a fresh SQLite file in a temporary directory).",
)
@click.option(
    "--mode",
    type=click.Choice(["throughput", "latency", "noisy-neighbor", "workflow", "enqueue"]),
    default="throughput",
    show_default=True,
)
@click.option(
    "--burst",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="noisy-neighbor: jobs tenant B sends (tenant A's backlog is --jobs).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=1),
    default=500.0,
    show_default=True,
    help="latency: jobs/s offered.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=10.0,
    show_default=True,
    help="latency: seconds.",
)
@click.option("--jobs", "-n", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--workers", "-p", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--job-ms", type=click.FloatRange(min=0), default=0.0, help="Hold each slot this long."
)
@click.option(
    "--tenants",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="throughput: spread the jobs round-robin over this many tenants; enqueue: producer i "
    "enqueues for tenant i modulo this.",
)
@click.option(
    "--mixed",
    is_flag=True,
    help="noisy-neighbor: the mixed case instead, weight 3 with 10 ms jobs against weight 1 with "
    "40 ms jobs, both backlogged: each tenant's share of worker-time and its error.",
)
@click.option(
    "--isolation",
    type=click.Choice(["inline", "process"]),
    default="inline",
    show_default=True,
    help="throughput: run the jobs in the worker, or in its child processes.",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    help="throughput: child processes per worker (default: the number of CPUs).",
)
@click.option(
    "--producers",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="enqueue: producer processes, each enqueueing one job per call.",
)
@click.option(
    "--http",
    is_flag=True,
    help="enqueue: POST /v1/jobs to a `workhorse api` process instead of enqueue() in Python.",
)
@click.option("--runs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@friendly_errors
def bench(
    database_url: str | None,
    mode: str,
    rate: float,
    duration: float,
    burst: int,
    jobs: int,
    workers: int,
    concurrency: int,
    job_ms: float,
    tenants: int,
    mixed: bool,
    isolation: str,
    processes: int | None,
    producers: int,
    http: bool,
    runs: int,
    as_json: bool,
) -> None:
    """Measure Workhorse with real worker processes running no-op jobs (medians over RUNS).

    throughput: bulk-enqueue JOBS, then time WORKERS processes draining them.
    workflow: one parent -> JOBS children -> one fan-in step, against JOBS independent jobs;
    and how long result() takes to return after a job's end.
    latency: offer RATE jobs/s for DURATION seconds to running workers; ready -> start latency.
    enqueue: PRODUCERS processes enqueue JOBS between them, one job per call (--http: over the
    API); no workers run.
    """
    if mode == "noisy-neighbor" and mixed:
        _mixed(database_url, workers, concurrency, as_json)
        return
    if mode == "noisy-neighbor":
        _noisy(database_url, jobs, burst, workers, concurrency, job_ms or 10.0, as_json)
        return
    if mode == "enqueue":
        _enqueue(database_url, jobs, producers, http, tenants, runs, as_json)
        return
    if mode == "workflow":
        _workflow(database_url, jobs, workers, concurrency, runs, as_json)
        return
    with (
        tempfile.TemporaryDirectory(prefix="workhorse-bench-") as tmp,
        _progress_bar() as show,
    ):
        url = database_url or f"sqlite:///{tmp}/bench.db"
        results: list[RunResult] = []
        for run in range(runs):
            progress = functools.partial(show, f"run {run + 1}/{runs}")
            if mode == "latency":
                result = latency.run_once(
                    url,
                    rate=rate,
                    duration=duration,
                    workers=workers,
                    concurrency=concurrency,
                    job_ms=job_ms,
                    progress=progress,
                )
            else:
                result = throughput.run_once(
                    url,
                    jobs=jobs,
                    workers=workers,
                    concurrency=concurrency,
                    job_ms=job_ms,
                    tenants=tenants,
                    progress=progress,
                    isolation=isolation,
                    processes=processes,
                )
            results.append(result)
            if not as_json:
                click.echo(
                    f"run {run + 1}: {result.throughput_per_s:,.0f} jobs/s "
                    f"(enqueue {result.enqueue_per_s:,.0f}/s, lost {result.lost}, "
                    f"duplicates {result.duplicates}, cpu {result.cpu_s:.1f}s)",
                    err=True,
                )
    summary = {
        "backend": url.split(":", 1)[0],
        "mode": mode,
        "jobs": jobs if mode == "throughput" else int(rate * duration),
        "workers": workers,
        "concurrency": concurrency,
        **_medians(results),
    }
    click.echo(json.dumps(summary) if as_json else _human(summary))


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, str, int, int | None], None]]:
    """A progress bar on stderr when it is a terminal (nothing otherwise, e.g. under --json
    in a pipe or CI): ``show(run, phase, done, total)``."""
    if not sys.stderr.isatty():
        yield lambda run, phase, done, total: None
        return
    bars: dict[str, TaskID] = {}
    with Progress(console=Console(stderr=True), transient=True) as bar:

        def show(run: str, phase: str, done: int, total: int | None) -> None:
            name = f"{run} {phase}"
            if name not in bars:
                bars[name] = bar.add_task(name, total=total)
            bar.update(bars[name], completed=done)

        yield show


def _medians(results: list[RunResult]) -> dict[str, object]:
    rows = [asdict(result) for result in results]
    median = {
        key: statistics.median(row[key] for row in rows) for key in rows[0] if key != "latency_ms"
    }
    median["latency_ms"] = {
        key: statistics.median(row["latency_ms"][key] for row in rows)
        for key in rows[0]["latency_ms"]
    }
    median["runs"] = [row["throughput_per_s"] for row in rows]
    return median


def _human(summary: dict[str, object]) -> str:
    return "\n".join(f"{key:>17}: {value}" for key, value in summary.items())


def _noisy(
    database_url: str | None,
    backlog: int,
    burst: int,
    workers: int,
    concurrency: int,
    job_ms: float,
    as_json: bool,
) -> None:
    with tempfile.TemporaryDirectory(prefix="workhorse-bench-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        result = noisy.run_once(
            url,
            backlog=backlog,
            burst=burst,
            workers=workers,
            concurrency=concurrency,
            job_ms=job_ms,
        )
    summary = {
        "backend": url.split(":", 1)[0],
        "mode": "noisy-neighbor",
        "workers": workers,
        "concurrency": concurrency,
        "job_ms": job_ms,
        **asdict(result),
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    idle, loaded = result.b_wait_idle_ms, result.b_wait_loaded_ms
    click.echo(
        f"B's wait, idle system:    p50 {idle['p50']:.1f} ms, p99 {idle['p99']:.1f} ms\n"
        f"B's wait, A's backlog:    p50 {loaded['p50']:.1f} ms, p99 {loaded['p99']:.1f} ms\n"
        f"A still waiting when B done: {result.a_waiting_when_b_done:,} of {result.a_backlog:,}"
    )
    for row in result.shares:
        click.echo(
            f"  t={row['t']:>5}s  A {row.get('noisy-a', 0):.0%}  B {row.get('quiet-b', 0):.0%}"
        )


def _mixed(database_url: str | None, workers: int, concurrency: int, as_json: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="workhorse-bench-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        shares = mixed.run_once(url, workers=workers, concurrency=concurrency)
    summary = {
        "backend": url.split(":", 1)[0],
        "mode": "noisy-neighbor-mixed",
        "workers": workers,
        "concurrency": concurrency,
        "tenants": {name: asdict(share) for name, share in shares.items()},
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    for name, share in shares.items():
        click.echo(
            f"{name}: weight {share.weight:g}, {share.job_ms:g} ms jobs, {share.jobs:,} jobs: "
            f"{share.share:.1%} of worker-time (weight's share {share.expected:.1%}, "
            f"error {share.error_points:+.1f} points)"
        )


def _workflow(
    database_url: str | None, jobs: int, workers: int, concurrency: int, runs: int, as_json: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="workhorse-bench-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        results = []
        for run in range(runs):
            result = workflow.run_once(url, jobs=jobs, workers=workers, concurrency=concurrency)
            results.append(result)
            if not as_json:
                click.echo(
                    f"run {run + 1}: independent {result.independent_s:.2f}s, workflow "
                    f"{result.workflow_s:.2f}s (x{result.ratio:.2f}), result() p50 "
                    f"{result.result_overhead_ms['p50']:.1f} ms after the job's end",
                    err=True,
                )
    summary = {
        "backend": url.split(":", 1)[0],
        "mode": "workflow",
        "jobs": jobs,
        "workers": workers,
        "concurrency": concurrency,
        **workflow.medians(results),
    }
    click.echo(json.dumps(summary) if as_json else _human(summary))


def _enqueue(
    database_url: str | None,
    jobs: int,
    producers: int,
    http: bool,
    tenants: int,
    runs: int,
    as_json: bool,
) -> None:
    with tempfile.TemporaryDirectory(prefix="workhorse-bench-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        results = []
        for run in range(runs):
            result = enqueue.run_once(
                url, jobs=jobs, producers=producers, http=http, tenants=tenants
            )
            results.append(asdict(result))
            if not as_json:
                click.echo(
                    f"run {run + 1}: {result.enqueue_per_s:,.0f} jobs/s, call p50 "
                    f"{result.call_ms['p50']:.2f} ms, p99 {result.call_ms['p99']:.2f} ms, "
                    f"lost {result.lost}",
                    err=True,
                )
    summary = {
        "backend": url.split(":", 1)[0],
        "mode": "enqueue",
        "transport": "http" if http else "python",
        "jobs": jobs,
        "producers": producers,
        "tenants": tenants,
        "enqueue_per_s": statistics.median(row["enqueue_per_s"] for row in results),
        "call_ms": {
            key: statistics.median(row["call_ms"][key] for row in results)
            for key in results[0]["call_ms"]
        },
        "lost": sum(row["lost"] for row in results),
        "cpu_s": statistics.median(row["cpu_s"] for row in results),
        "runs": [row["enqueue_per_s"] for row in results],
    }
    click.echo(json.dumps(summary) if as_json else _human(summary))
