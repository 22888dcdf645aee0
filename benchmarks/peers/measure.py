"""One measured round of a system: bulk enqueue and drain (throughput, CPU per job), latency at
offered rates with the same workers, then single-call enqueue.

Every system's job is the same: it writes the completion record of `counter` (one Redis pipeline
round trip), and every figure below is read from that record.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import counter
import cpu
import processes
from stats import Latency, summarise_latency

POLL_S = 0.02
WINDOW = (0.10, 0.90)
"""CPU per job is measured between these fractions of the jobs done."""
PRODUCER_START_S = 4.0
"""The latency producers start this long after being spawned (they import and connect first)."""

Enqueue = Callable[[int], Awaitable[float]]
"""Enqueue the job with this sequence number; the `time.time()` at which the call returned."""


class Peer(Protocol):
    """What the runner needs from a job library to measure it."""

    name: str
    distribution: str
    """The pip distribution whose version is reported."""

    def describe(self, workers: int, concurrency: int) -> str:
        """How the process and concurrency budget maps onto this library's workers."""

    def reset(self) -> None:
        """Empty this system's state and the record (only the Redis db / database it owns)."""

    async def enqueue_bulk(self, seqs: range) -> None:
        """Enqueue one job per sequence number with the library's fastest bulk API."""

    def producer(self) -> AbstractAsyncContextManager[Enqueue]:
        """An open client whose enqueue call sends one job (the library's single-job call)."""

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        """Command lines that start the workers."""

    def servers(self) -> list[int]:
        """The PIDs of the broker and database processes that serve this system."""

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
    cpu_per_job_us: float
    """Workers' and servers' busy CPU between 10 % and 90 % of the jobs done, per job."""
    worker_cpu_per_job_us: float
    latency: list[Latency] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class WorkerFailed(RuntimeError):
    """A worker process exited before the jobs were done."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    jobs: int
    workers: int
    concurrency: int
    single_jobs: int
    rates: tuple[float, ...]
    latency_s: float
    producers: int
    stall_s: float


def run_peer(peer: Peer, budget: Budget, logs: Path) -> PeerResult:
    peer.reset()
    started = time.perf_counter()
    asyncio.run(peer.enqueue_bulk(range(budget.jobs)))
    enqueue_s = time.perf_counter() - started
    log = logs / f"{peer.name}.log"
    commands = peer.worker_commands(budget.workers, budget.concurrency)
    procs = [processes.spawn(argv, log) for argv in commands]
    try:
        cpu_s, worker_s, window_jobs = _drain(peer, budget, procs, log)
        found = counter.times()
        done = counter.done()
        span = counter.span_s(found)
        drained = len(found) / span if span > 0 else 0.0
        latency = [
            _latency(peer, budget, rate, procs, logs) if rate <= drained else Latency.above(rate)
            for rate in budget.rates
        ]
    finally:
        processes.stop(procs)
    peer.reset()
    single_s = asyncio.run(_single(peer, budget.single_jobs))
    peer.reset()
    peer.close()
    return PeerResult(
        enqueue_per_s=budget.jobs / enqueue_s,
        single_enqueue_per_s=budget.single_jobs / single_s,
        throughput_per_s=drained or float("nan"),
        done=len(found),
        lost=max(0, budget.jobs - len(found)),
        duplicates=max(0, done - len(found)),
        cpu_per_job_us=_per_job_us(cpu_s, window_jobs),
        worker_cpu_per_job_us=_per_job_us(worker_s, window_jobs),
        latency=latency,
    )


def _per_job_us(seconds: float, jobs: int) -> float:
    return seconds / jobs * 1e6 if jobs > 0 else float("nan")


def _drain(
    peer: Peer, budget: Budget, procs: list[subprocess.Popen[bytes]], log: Path
) -> tuple[float, float, int]:
    """Wait for the bulk-enqueued jobs; (all, workers') CPU seconds and jobs in the window."""
    sampler = cpu.Sampler((proc.pid for proc in procs), peer.servers)
    low, high = (int(budget.jobs * fraction) for fraction in WINDOW)
    readings: list[tuple[int, tuple[cpu.Ticks, cpu.Ticks]]] = []
    for done in _progress(budget.jobs, procs, log, budget.stall_s):
        if len(readings) < 2 and done >= (low, high)[len(readings)]:
            readings.append((done, sampler.read()))
    if len(readings) < 2:
        return float("nan"), float("nan"), 0
    (done_low, (workers_low, servers_low)), (done_high, (workers_high, servers_high)) = readings
    worker_s = cpu.used_s(workers_low, workers_high)
    return worker_s + cpu.used_s(servers_low, servers_high), worker_s, done_high - done_low


def _progress(
    jobs: int, procs: list[subprocess.Popen[bytes]], log: Path, stall_s: float
) -> Iterator[int]:
    """Yield the jobs done every POLL_S until ``jobs`` are; stop after ``stall_s`` idle."""
    last, last_change = -1, time.monotonic()
    while True:
        done = counter.done()
        yield done
        if done >= jobs:
            return
        if any(proc.poll() is not None for proc in procs):
            raise WorkerFailed(f"worker exited early:\n{processes.tail(log)}")
        if done != last:
            last, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            return
        time.sleep(POLL_S)


def _latency(
    peer: Peer,
    budget: Budget,
    rate: float,
    procs: list[subprocess.Popen[bytes]],
    logs: Path,
) -> Latency:
    """Offer ``rate`` jobs/s for ``latency_s`` to the running workers, from separate producers."""
    counter.clear()
    jobs = max(1, int(rate * budget.latency_s))
    start_at = time.time() + PRODUCER_START_S
    producers = [
        _spawn_producer(
            peer.name,
            rate=rate,
            jobs=jobs,
            index=index,
            step=budget.producers,
            start_at=start_at,
            logs=logs,
        )
        for index in range(budget.producers)
    ]
    returned: dict[int, float] = {}
    for proc in producers:
        out, _ = proc.communicate(timeout=budget.latency_s * 20 + 120)
        if proc.returncode != 0:
            raise RuntimeError(
                f"producer exited with {proc.returncode}:\n{processes.tail(logs / 'producer.log')}"
            )
        returned.update({int(seq): stamp for seq, stamp in json.loads(out).items()})
    for _ in _progress(jobs, procs, logs / f"{peer.name}.log", budget.stall_s):
        pass
    return summarise_latency(rate, start_at, returned, counter.times())


def _spawn_producer(
    name: str, *, rate: float, jobs: int, index: int, step: int, start_at: float, logs: Path
) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, str(processes.HERE / "producer.py"), name, "--rate", str(rate),
        "--jobs", str(jobs), "--first", str(index), "--step", str(step),
        "--start-at", repr(start_at),
    ]  # fmt: skip
    with (logs / "producer.log").open("ab") as err:
        return subprocess.Popen(argv, cwd=processes.HERE, stdout=subprocess.PIPE, stderr=err)


async def _single(peer: Peer, jobs: int) -> float:
    """Seconds ``jobs`` single-job calls take, after one untimed call that connects."""
    async with peer.producer() as enqueue:
        await enqueue(jobs)
        started = time.perf_counter()
        for seq in range(jobs):
            await enqueue(seq)
        return time.perf_counter() - started
