"""The acceptance harness: a working directory per test, the real CLI in subprocesses, waiting.

Processes are started only through a :class:`Workspace`, which remembers them and stops whatever
is still running at teardown (by handle, never by name). Their output goes to files rather than
pipes, so a chatty process can never block on a full pipe while the test waits on something else.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from workhorse import Job, JobState, Workhorse
from workhorse.backends import base as b

from .fixtures import tasksmod

T = TypeVar("T")

FIXTURES = Path(__file__).parent / "fixtures"
APP = "tasksmod:app"


def wait_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
) -> T:
    """Poll ``check`` until it returns something truthy and return it; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True, slots=True)
class Execution:
    """One line of the execution log the fixture tasks write."""

    job_id: int
    attempt: int
    pid: int
    event: str


@dataclass(slots=True)
class Proc:
    """A CLI process started in the background, with its output in two files."""

    name: str
    popen: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        return self.stdout() + self.stderr()

    def signal(self, sig: signal.Signals) -> None:
        if self.alive:
            self.popen.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        """The exit status; fail (showing the process's stderr) if it runs past ``timeout``."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            tail = self.stderr()[-3000:]
            raise AssertionError(
                f"{self.name} (pid {self.pid}) still running after {timeout:g}s; stderr:\n{tail}"
            ) from None

    def stop(self) -> None:
        """Teardown: SIGTERM, then SIGKILL if it does not exit promptly."""
        if not self.alive:
            return
        self.popen.terminate()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class Workspace:
    """One test's directory: the tasks module, the SQLite file, the execution log and the
    processes started there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copy(FIXTURES / "tasksmod.py", root / "tasksmod.py")
        self.db_path = root / "jobs.db"
        self.db_url = f"sqlite:///{self.db_path}"
        self.executions_path = root / tasksmod.EXECUTIONS
        self._procs: list[Proc] = []
        # Hermetic: no WORKHORSE_* setting of the machine running the tests leaks in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WORKHORSE_")}
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"

    # -- running the CLI ---------------------------------------------------------------------

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``workhorse ARGS`` to completion."""
        return subprocess.run(
            [sys.executable, "-m", "workhorse", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, name: str) -> Proc:
        """Start ``workhorse ARGS`` in the background."""
        index = len(self._procs)
        stdout_path = self.root / f"{index}-{name}.stdout"
        stderr_path = self.root / f"{index}-{name}.stderr"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            popen = subprocess.Popen(
                [sys.executable, "-m", "workhorse", *args],
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=err,
            )
        proc = Proc(name, popen, stdout_path, stderr_path)
        self._procs.append(proc)
        return proc

    def start_worker(self, *options: str, name: str = "worker") -> Proc:
        """Start ``workhorse worker`` on this workspace's app and database."""
        return self.start(
            "worker", "--app", APP, "--database-url", self.db_url, *options, name=name
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command that takes --database-url against this workspace's database."""
        return self.run(*args, "--database-url", self.db_url)

    def close(self) -> None:
        for proc in self._procs:
            proc.stop()

    # -- what the tasks recorded -------------------------------------------------------------

    def executions(self, event: str | None = "done") -> list[Execution]:
        """The execution log in order, only records of ``event`` unless it is None."""
        if not self.executions_path.exists():
            return []
        found = []
        for line in self.executions_path.read_text().splitlines():
            job_id, attempt, pid, kind = line.split()
            if event is None or kind == event:
                found.append(Execution(int(job_id), int(attempt), int(pid), kind))
        return found


# -- reading the database --------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a child of ours that exited and was reaped does
    not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def logged_dispatcher_pid(proc: Proc) -> int | None:
    """The pid of the event dispatcher ``proc`` says it started, once it has said so."""
    found = re.search(r"started event dispatcher pid (\d+)", proc.stderr())
    return int(found[1]) if found else None


def state_counts(app: Workhorse) -> Counter[JobState]:
    """How many jobs are in each state, over every tenant and queue."""
    counts: Counter[JobState] = Counter()
    for row in app.backend.job_count(b.JobCountParams()):
        counts[row.state] += row.count
    return counts


def all_jobs(app: Workhorse) -> dict[int, Job]:
    """Every job by id."""
    return {job.id: job for job in app.list_jobs(limit=1_000_000)}


def jobs_by_id(app: Workhorse, ids: Iterable[int]) -> dict[int, Job]:
    return {job_id: app.get_job(job_id) for job_id in ids}


def wait_all_terminal(app: Workhorse, expected: int, *, timeout: float) -> dict[int, Job]:
    """Wait until ``expected`` jobs exist and all have ended; return them by id."""

    def done() -> bool:
        counts = state_counts(app)
        return counts.total() == expected and all(state.terminal for state in +counts)

    wait_until(done, timeout=timeout, what=f"all {expected} jobs to end", interval=0.25)
    return all_jobs(app)


def error_types(job: Job) -> list[str]:
    return [error.type for error in job.errors]
