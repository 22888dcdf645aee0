"""Tasks for the process isolation tests: one app, configured per test by ``use``."""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from workhorse import RetryPolicy, Workhorse, current_job

app = Workhorse()
FAST = RetryPolicy(base=timedelta(milliseconds=10))
PIDS = "pids.txt"


def use(database_url: str, workdir: Path) -> Workhorse:
    """Point the app at ``database_url``; tasks write pids under ``workdir``."""
    app.close()
    app.database_url = database_url
    os.environ["ISOLATION_TEST_DIR"] = str(workdir)
    return app


def _note_pid(pid: int) -> None:
    with open(Path(os.environ["ISOLATION_TEST_DIR"]) / PIDS, "a") as file:
        file.write(f"{pid}\n")


@app.task(isolation="process", max_attempts=1)
def whoami(label: str) -> dict[str, object]:
    job = current_job()
    job.report_progress({"label": label})
    return {"pid": os.getpid(), "job": job.job_id, "attempt": job.attempt, "label": label}


@app.task(max_attempts=1)
def inline_pid() -> int:
    return os.getpid()


@app.task(isolation="process", max_attempts=1)
async def doubled(value: int) -> int:
    return value * 2


@app.task(isolation="process", timeout=1, max_attempts=1)
def hang() -> None:
    _note_pid(os.getpid())
    time.sleep(3600)


@app.task(isolation="process", timeout=1, max_attempts=1)
def hang_with_grandchildren() -> None:
    for _ in range(2):
        _note_pid(subprocess.Popen(["sleep", "3600"]).pid)
    time.sleep(3600)


@app.task(isolation="process", memory_limit="200MiB", max_attempts=1)
def hog_at_once() -> int:
    return len(b"x" * (2 * 1024**3))


@app.task(isolation="process", memory_limit="200MiB", max_attempts=1)
def hog_slowly() -> int:
    chunks = []
    for _ in range(200):  # 2 GiB in 10 MiB steps, slow enough for the RSS watch to see
        chunks.append(b"y" * (10 * 1024**2))
        time.sleep(0.005)
    return len(chunks)


@app.task(isolation="process", max_attempts=1)
def exits(code: int) -> None:
    os._exit(code)


@app.task(isolation="process", max_attempts=1)
def segfault() -> None:
    ctypes.string_at(0)


@app.task(isolation="process", max_attempts=3, retry=FAST)
def crash_first(marker: str) -> str:
    flag = Path(os.environ["ISOLATION_TEST_DIR"]) / marker
    if not flag.exists():
        flag.touch()
        os._exit(1)
    return "second time lucky"


@app.task(isolation="process", max_attempts=1)
def fails() -> None:
    raise ValueError("bad input")


@app.task(isolation="process", max_attempts=1)
def pid_of_child() -> int:
    return os.getpid()


def _burn(seconds: float) -> float:
    """Burn CPU for about ``seconds`` of this thread's CPU time; returns what it burnt."""
    began = time.thread_time()
    while time.thread_time() - began < seconds:
        sum(range(1000))
    return time.thread_time() - began


@app.task(isolation="process", max_attempts=1)
def burn_isolated(seconds: float) -> float:
    return _burn(seconds)


@app.task(max_attempts=1)
def burn_inline(seconds: float) -> float:
    return _burn(seconds)


@app.task(isolation="process", max_attempts=1)
def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@app.task(isolation="process", max_attempts=1)
def noted() -> int:
    """Notes its pid: a trace of every run."""
    _note_pid(os.getpid())
    return os.getpid()
