"""One measured run of a peer: bulk enqueue, drain with real worker processes, single enqueue."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import processes

POLL_S = 0.1


class Peer(Protocol):
    """What the runner needs from a job library to measure it."""

    name: str
    distribution: str
    """The pip distribution whose version is reported."""

    def describe(self, workers: int, concurrency: int) -> str:
        """How the process and concurrency budget maps onto this library's workers."""

    def reset(self) -> None:
        """Empty this library's broker state (only the Redis db / PostgreSQL database it owns)."""

    def enqueue_bulk(self, jobs: int) -> None:
        """Enqueue ``jobs`` no-ops with the library's fastest bulk API."""

    def enqueue_single(self, jobs: int) -> float:
        """Enqueue ``jobs`` no-ops one call each; the seconds the calls took (see `timed_loop`)."""

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        """Command lines that start the workers."""

    def done(self) -> int:
        """Jobs finished so far, read from the broker or database."""

    def span_s(self) -> float:
        """Seconds from the first job's start to the last job's completion, as recorded."""

    def close(self) -> None:
        """Close this process's connections."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerResult:
    enqueue_per_s: float
    single_enqueue_per_s: float
    throughput_per_s: float
    done: int
    lost: int
    duplicates: int
    cpu_s: float
    """The worker processes' CPU seconds, read from /proc just before they are stopped."""
    drain_wall_s: float
    """Workers' start to the last completion being seen (includes their start-up)."""

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


class WorkerFailed(RuntimeError):
    """A worker process exited before the jobs were done."""


def timed_loop(call: Callable[[], object], count: int) -> float:
    """Seconds that ``count`` calls take, after one untimed call that opens the connections."""
    call()
    started = time.perf_counter()
    for _ in range(count):
        call()
    return time.perf_counter() - started


def run_peer(
    peer: Peer,
    *,
    jobs: int,
    workers: int,
    concurrency: int,
    single_jobs: int,
    logs: Path,
    stall_s: float,
) -> PeerResult:
    peer.reset()
    started = time.perf_counter()
    peer.enqueue_bulk(jobs)
    enqueue_s = time.perf_counter() - started
    log = logs / f"{peer.name}.log"
    procs = [processes.spawn(argv, log) for argv in peer.worker_commands(workers, concurrency)]
    started = time.perf_counter()
    try:
        _wait_for(peer, jobs, procs, log, stall_s)
        drain_wall_s = time.perf_counter() - started
        cpu_s = processes.group_cpu(procs)
    finally:
        processes.stop(procs)
    done = peer.done()  # read again once every worker is gone: late duplicates count too
    span = peer.span_s()
    peer.reset()
    single_s = peer.enqueue_single(single_jobs)
    peer.reset()
    peer.close()
    return PeerResult(
        enqueue_per_s=jobs / enqueue_s,
        single_enqueue_per_s=single_jobs / single_s,
        throughput_per_s=min(done, jobs) / span if span > 0 else float("nan"),
        done=done,
        lost=max(0, jobs - done),
        duplicates=max(0, done - jobs),
        cpu_s=cpu_s,
        drain_wall_s=drain_wall_s,
    )


def _wait_for(
    peer: Peer, jobs: int, procs: list[subprocess.Popen[bytes]], log: Path, stall_s: float
) -> None:
    """Poll until ``jobs`` are done; give up after ``stall_s`` without progress."""
    last, last_change = -1, time.monotonic()
    while True:
        done = peer.done()
        if done >= jobs:
            return
        if any(proc.poll() is not None for proc in procs):
            raise WorkerFailed(f"{peer.name} worker exited early:\n{processes.tail(log)}")
        if done != last:
            last, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            return
        time.sleep(POLL_S)
