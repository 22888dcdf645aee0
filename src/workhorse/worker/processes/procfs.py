"""What a process consumes, read from Linux's /proc (no other platform is supported)."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading: resident memory now, and CPU time (user + system) so far."""

    rss_bytes: int
    cpu_seconds: float


def sample(pid: int) -> Sample | None:
    """A reading of process ``pid``; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    utime, stime, rss = int(fields[11]), int(fields[12]), int(fields[21])
    return Sample(rss_bytes=rss * _PAGE, cpu_seconds=(utime + stime) / _TICKS)


def own_cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that ended."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def reset_peak_rss() -> None:
    """Start measuring this process's peak RSS afresh (Linux 4.0+; otherwise nothing)."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
    except OSError:
        pass


def peak_rss_bytes() -> int | None:
    """This process's peak RSS since the last reset (VmHWM); None when unknown."""
    return _status_kib("VmHWM:")


def virtual_bytes() -> int | None:
    """This process's address space in use (VmSize); None when unknown."""
    return _status_kib("VmSize:")


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
