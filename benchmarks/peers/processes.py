"""Worker processes: each leads a session of its own, stopped by process group, waits bounded."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

STOP_GRACE_S = 15.0
KILL_WAIT_S = 5.0


def spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` from this directory (so it imports the peer modules), output to ``log``.

    The process leads a new session, so it and every process it forks (Dramatiq's and RQ's
    workers, RQ's per-job forks) can be signalled together through its PID.
    """
    env = dict(os.environ, PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1")
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def python(*args: str) -> list[str]:
    """A command line running this interpreter (the peers' virtualenv)."""
    return [sys.executable, *args]


def stop(procs: list[subprocess.Popen[bytes]], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM each process group, wait up to ``grace_s``, then SIGKILL what is left."""
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in procs:
        # Children of the leader may outlive it: the group is killed even if the leader is gone.
        _signal_group(proc, signal.SIGKILL)
        try:
            proc.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            print(f"process {proc.pid} did not exit after SIGKILL", file=sys.stderr)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def group_cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds (user + system) used so far by the process groups of ``procs`` (Linux).

    Read from /proc while the processes live: each member's own time plus that of the children
    it has reaped (RQ's per-job forks). Waiting for the leaders after a stop would miss the
    workers whose parent exits without reaping them.
    """
    groups = {proc.pid for proc in procs}
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        # After the command name: state, ppid, pgrp, …, utime, stime, cutime, cstime (11-14).
        if int(fields[2]) in groups:
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_bounded(argv: list[str], timeout_s: float, log: Path) -> str:
    """Run ``argv`` to completion and return its standard output (its stderr goes to ``log``).

    Past ``timeout_s`` its whole process group (its own workers included) is stopped.
    """
    with log.open("ab") as err:
        proc = subprocess.Popen(
            argv, cwd=HERE, stdout=subprocess.PIPE, stderr=err, start_new_session=True
        )
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{argv[0]} did not finish within {timeout_s:g}s") from None
        finally:
            stop([proc], grace_s=5.0)  # on a timeout; otherwise only strays of its group, if any
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited with {proc.returncode}:\n{tail(log)}")
    return out.decode()
