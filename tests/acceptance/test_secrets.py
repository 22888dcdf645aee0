"""Secrets given to ``workhorse serve`` stay out of its logs and out of its workers' command
lines (which every user of the machine can read in ``ps`` and ``/proc/<pid>/cmdline``)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from pgtest import postgres_schema
from workhorse import JobState

from ._harness import APP, Workspace, wait_until
from .fixtures import tasksmod

PASSWORD = "S3cret-db-pw-7f3a"
METRICS_TOKEN = "metrics-token-5c1d9e0b7a2f4c68"


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended while we looked
        # The command name (field 2) is in parentheses and may hold spaces: parse after it.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.mark.slow
def test_serve_keeps_the_password_and_token_out_of_logs_and_worker_command_lines(
    workspace: Workspace,
) -> None:
    with postgres_schema() as url:
        secret_url = url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")
        assert PASSWORD in secret_url, "the test server URL has the expected shape"
        workspace.env["WORKHORSE_DATABASE_URL"] = secret_url
        workspace.env["WORKHORSE_METRICS_TOKEN"] = METRICS_TOKEN
        migrated = workspace.run("migrate")
        assert migrated.returncode == 0, migrated.stderr
        serve = workspace.start(
            "serve", "--app", APP, "--workers", "2", "--no-api", "--no-view", name="serve"
        )
        tasksmod.app.close()
        tasksmod.app.database_url = secret_url
        try:

            def two_workers() -> list[str] | None:
                # serve's children: its workers and its event dispatcher
                lines = [_command_line(pid) for pid in _children(serve.pid)]
                workers = [line for line in lines if " worker " in line]
                return lines if len(workers) == 2 else None

            lines = wait_until(two_workers, timeout=30, what="serve to start two workers")
            assert not [line for line in lines if PASSWORD in line or METRICS_TOKEN in line]
            job = tasksmod.add.enqueue(1, 2)
            wait_until(
                lambda: tasksmod.app.get_job(job.id).state is JobState.SUCCEEDED,
                timeout=30,
                what="a worker (given the URL through its environment) to run a job",
            )
        finally:
            tasksmod.app.close()
            serve.signal(signal.SIGTERM)
            status = serve.wait_exit(30)
    assert status == 0, serve.stderr()[-3000:]
    assert PASSWORD not in serve.output()
    assert "postgres:***@" in serve.stderr()
