"""What a process consumes, read from Linux's /proc (no other platform is supported)."""

from __future__ import annotations

import contextlib
import functools
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


def own_usage() -> tuple[float, int]:
    """CPU time (user + system) of this process and of its children that ended, and this
    process's peak RSS in bytes since ``reset_peak_rss`` (for a process whose threads have not
    exited: the kernel keeps the peak of ended threads apart). Two system calls, no /proc read:
    a child measures every job."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime
    return cpu, own.ru_maxrss * 1024


def reset_peak_rss() -> None:
    """Start measuring this process's peak RSS afresh (Linux 4.0+; otherwise nothing)."""
    fd = _own_file(os.getpid(), "clear_refs", os.O_WRONLY)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.write(fd, b"5")


def virtual_bytes() -> int | None:
    """This process's address space in use (VmSize); None when unknown."""
    return _status_kib(b"VmSize:")


@functools.cache
def _own_file(pid: int, name: str, flags: int) -> int | None:
    """A descriptor on ``/proc/<pid>/<name>`` for this process (``pid``: a forked child gets
    its own), opened once: a child reads these for every job, and opening a /proc file costs
    more than reading it again."""
    try:
        return os.open(f"/proc/{pid}/{name}", flags)
    except OSError:
        return None


def _status_kib(field: bytes) -> int | None:
    fd = _own_file(os.getpid(), "status", os.O_RDONLY)
    if fd is None:
        return None
    try:
        status = os.pread(fd, 8192, 0)
    except OSError:
        return None
    start = status.find(field)
    if start < 0:
        return None
    return int(status[start + len(field) :].split(maxsplit=1)[0]) * 1024
