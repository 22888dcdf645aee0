"""CPU used by the processes that do a system's work: its workers and its broker or database.

Read per process from /proc/<pid>/stat (utime + stime, plus cutime + cstime of reaped children),
never machine-wide: the machine is shared, and other work would be counted as the system's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Ticks = dict[int, int]


def _stat(pid: int | str) -> list[str] | None:
    """The fields after the command name, or None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _busy(fields: list[str]) -> int:
    # After the command name: state, ppid, pgrp, …, utime, stime, cutime, cstime (11-14).
    return sum(int(value) for value in fields[11:15])


def group_members(groups: Iterable[int]) -> list[int]:
    """The processes in the process groups ``groups`` (a worker and what it forked)."""
    wanted = set(groups)
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(entry.name)
        if fields is not None and int(fields[2]) in wanted:
            members.append(int(entry.name))
    return members


def named(command: str) -> list[int]:
    """The processes whose command name is ``command`` (such as ``redis-server``)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == command:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def ticks(pids: Iterable[int]) -> Ticks:
    """Busy clock ticks so far of each process still alive."""
    found: Ticks = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            found[pid] = _busy(fields)
    return found


def used_s(before: Ticks, after: Ticks) -> float:
    """CPU seconds between two readings; a process first seen in ``after`` counts in full."""
    return sum(value - before.get(pid, 0) for pid, value in after.items()) / CLOCK_TICKS


class Sampler:
    """Readings of the workers' process groups and of the servers ``servers()`` names."""

    def __init__(self, groups: Iterable[int], servers: Callable[[], list[int]]) -> None:
        self.groups = list(groups)
        self.servers = servers

    def read(self) -> tuple[Ticks, Ticks]:
        """(workers, servers) ticks now."""
        return ticks(group_members(self.groups)), ticks(self.servers())
