"""A worker killed with SIGKILL takes its child processes with it: no job runs on without a
lease, and no process is left behind. ``jobs show`` prints what each attempt used."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from workhorse import Workhorse

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
