"""A worker killed with SIGKILL takes its child processes with it: no job runs on without a
lease, and no process is left behind. ``jobs show`` prints what each attempt used."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from workhorse import Workhorse
from workhorse.cli.worker import worker

from ._harness import APP, Workspace, wait_until
from .fixtures import tasksmod


def descendants(pid: int) -> set[int]:
    """The processes below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def running(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"


@pytest.mark.slow
def test_sigkill_of_the_worker_leaves_no_child(workspace: Workspace, app: Workhorse) -> None:
    isolated = tasksmod.slow_sync.with_options(isolation="process")
    for _ in range(2):
        isolated.enqueue(3600)
    worker = workspace.start_worker("--concurrency", "4", "--processes", "2", name="doomed")
    wait_until(
        lambda: len(workspace.executions("start")) == 2, timeout=30, what="both jobs to start"
    )
    job_pids = {execution.pid for execution in workspace.executions("start")}
    below = descendants(worker.pid)
    assert job_pids <= below and worker.pid not in job_pids
    worker.signal(signal.SIGKILL)
    assert worker.wait_exit(10) == -signal.SIGKILL
    wait_until(lambda: not any(running(pid) for pid in below), timeout=5, what="every child to die")


@pytest.mark.slow
def test_jobs_show_prints_what_each_attempt_used(workspace: Workspace, app: Workhorse) -> None:
    job_id = tasksmod.add.with_options(isolation="process").enqueue(2, 3).id
    options = ("--burst", "--processes", "1", "--app", APP)
    ran = workspace.cli("worker", *options)
    assert ran.returncode == 0, ran.stderr
    text = workspace.cli("jobs", "show", str(job_id))
    assert text.returncode == 0, text.stderr
    assert "attempt 1 used wall " in text.stdout and "peak " in text.stdout
    shown = json.loads(workspace.cli("jobs", "show", str(job_id), "--json").stdout)
    [attempt] = shown["attempt_usage"]
    assert attempt["max_rss_bytes"] > 0 and attempt["cpu_seconds"] is not None


@pytest.mark.slow
def test_usage_command_totals_what_ran(workspace: Workspace, app: Workhorse) -> None:
    for tenant in ("acme", "globex"):
        tasksmod.add.with_options(tenant=tenant).enqueue(1, 2)
    ran = workspace.cli("worker", "--burst", "--app", APP)
    assert ran.returncode == 0, ran.stderr
    workspace.env["WORKHORSE_PRICE_SLOT_HOUR"] = "3600"
    shown = workspace.cli("usage", "--since", "2h", "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["prices"] == {"cpu_hour": 0.0, "slot_hour": 3600.0}
    assert sorted(row["key"] for row in report["rows"]) == ["acme", "globex"]
    assert all(row["jobs"] == 1 and row["cost"] > 0 for row in report["rows"])
    table = workspace.cli("usage", "--by", "task")
    assert table.returncode == 0 and "add" in table.stdout
    bad = workspace.cli("usage", "--since", "soon")
    assert bad.returncode == 2 and "not a window" in bad.stderr


@pytest.mark.slow
def test_serve_passes_the_child_process_options_to_its_workers(workspace: Workspace) -> None:
    options = ("--processes", "3", "--max-jobs-per-child", "7", "--max-memory-per-child", "300MiB")
    serve = workspace.start(
        "serve", "--app", APP, "--database-url", workspace.db_url, "--no-api", "--no-view",
        *options, name="serve",
    )  # fmt: skip

    def worker_argv() -> list[str] | None:
        assert serve.alive, f"serve exited early:\n{serve.stderr()}"
        for pid in descendants(serve.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            except OSError:
                continue
            if argv[1:4] == [b"-m", b"workhorse", b"worker"]:
                return [part.decode() for part in argv[4:]]
        return None

    wait_until(lambda: worker_argv() is not None, timeout=30, what="serve to start a worker")
    argv = worker_argv()
    assert argv is not None
    params = worker.make_context("worker", argv).params
    assert params["processes"] == 3
    assert params["max_jobs_per_child"] == 7
    assert params["max_memory_per_child"] == 300 * 1024**2
    serve.signal(signal.SIGTERM)
    assert serve.wait_exit(20) == 0
