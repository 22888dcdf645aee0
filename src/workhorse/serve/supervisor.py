"""Runs worker processes and restarts any that die."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("workhorse.serve")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerCommand:
    """How ``serve`` starts a worker. Secrets (the database URL, which may hold a password, and
    the metrics token) go to the worker through its environment, never its command line: every
    user of the machine can read a command line (``ps``), only the process's owner its
    environment."""

    app_path: str
    database_url: str
    concurrency: int
    queues: str
    log_level: str
    log_format: str = "auto"
    metrics_port: int | None = None
    """The first worker's metrics port; the n-th worker (from 0) gets this plus n."""
    metrics_host: str = "127.0.0.1"
    metrics_token: str | None = None
    processes: int | None = None
    """Child processes for each worker's process-isolated jobs (None: the worker's default)."""
    max_jobs_per_child: int | None = None
    max_memory_per_child: int | None = None
    """In bytes."""

    def env(self) -> dict[str, str]:
        """The environment of a worker: this process's, plus the secrets it needs."""
        env = {**os.environ, "WORKHORSE_DATABASE_URL": self.database_url}
        env.pop("WORKHORSE_METRICS_TOKEN", None)
        if self.metrics_token is not None:
            env["WORKHORSE_METRICS_TOKEN"] = self.metrics_token
        return env

    def argv(self, index: int = 0) -> list[str]:
        """The command line of worker number ``index``."""
        metrics = []
        if self.metrics_port is not None:
            port = str(self.metrics_port + index if self.metrics_port else 0)
            metrics = ["--metrics-port", port, "--metrics-host", self.metrics_host]
        return [
            sys.executable,
            "-m",
            "workhorse",
            "worker",
            "--app",
            self.app_path,
            "--concurrency",
            str(self.concurrency),
            "--queues",
            self.queues,
            "--log-level",
            self.log_level,
            "--log-format",
            self.log_format,
            # serve runs one dispatcher for all its workers (a process of its own, beside them)
            "--dispatch",
            "off",
            *metrics,
            *self._pool_options(),
        ]

    def _pool_options(self) -> list[str]:
        """The child-process options given, as the worker's command line spells them."""
        given: dict[str, int | None] = {
            "--processes": self.processes,
            "--max-jobs-per-child": self.max_jobs_per_child,
            "--max-memory-per-child": self.max_memory_per_child,
        }
        return [
            part
            for name, value in given.items()
            if value is not None
            for part in (name, f"{value}")
        ]


class Supervisor:
    """Keeps ``count`` worker processes running until ``stop``."""

    def __init__(
        self,
        command: WorkerCommand,
        count: int,
        *,
        grace: float = 15.0,
        on_line: Callable[[int, str], None] | None = None,
    ) -> None:
        """``on_line(pid, line)``, when given, receives the workers' stderr instead of the
        terminal (so a live view is not torn by their logs)."""
        self._command = command
        self._on_line = on_line
        self._readers: set[asyncio.Task[None]] = set()
        self._count = count
        self._grace = grace
        self._procs: list[asyncio.subprocess.Process] = []
        self._stopping = False

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs if proc.returncode is None]

    async def run(self) -> None:
        """Start the workers and restart any that exit, until ``stop``."""
        self._procs = [await self._spawn(index) for index in range(self._count)]
        while not self._stopping:
            for index, proc in enumerate(self._procs):
                if proc.returncode is not None and not self._stopping:
                    log.warning(
                        "worker pid %d exited with %s; restarting", proc.pid, proc.returncode
                    )
                    await asyncio.sleep(1)
                    self._procs[index] = await self._spawn(index)
            await asyncio.sleep(0.5)

    async def stop(self) -> None:
        """SIGTERM every worker, wait for the drain, SIGKILL what is left."""
        self._stopping = True
        for proc in self._procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(self._grace + 5):
                await asyncio.gather(*(proc.wait() for proc in self._procs))
        except TimeoutError:
            for proc in self._procs:
                if proc.returncode is None:
                    log.error("worker pid %d did not stop; killing it", proc.pid)
                    proc.kill()
            await asyncio.gather(*(proc.wait() for proc in self._procs))

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        stderr = None if self._on_line is None else asyncio.subprocess.PIPE
        # A process group of its own: Ctrl-C in the terminal reaches only serve, which then
        # drains the workers with one SIGTERM each; --parent-pid ends them if serve is killed.
        proc = await asyncio.create_subprocess_exec(
            *self._command.argv(index),
            "--parent-pid",
            str(os.getpid()),
            env=self._command.env(),
            stderr=stderr,
            process_group=0,
        )
        log.info("started worker pid %d", proc.pid)
        if self._on_line is not None and proc.stderr is not None:
            reader = asyncio.create_task(self._forward(proc.pid, proc.stderr, self._on_line))
            self._readers.add(reader)
            reader.add_done_callback(self._readers.discard)
        return proc

    @staticmethod
    async def _forward(
        pid: int, stream: asyncio.StreamReader, on_line: Callable[[int, str], None]
    ) -> None:
        async for raw in stream:
            on_line(pid, raw.decode(errors="replace").rstrip())
