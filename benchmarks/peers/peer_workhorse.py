"""Workhorse itself, measured by its own `workhorse bench` from the repository's virtualenv.

Each run gets a fresh database (PostgreSQL: the benchmark's own, recreated; SQLite: a new file),
as the peers get a flushed broker.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pg
import settings
from processes import run_bounded

BENCH_KEYS = (
    "enqueue_per_s",
    "throughput_per_s",
    "latency_ms",
    "lost",
    "duplicates",
    "cpu_s",
)


class WorkhorseSystem:
    def __init__(self, repo: Path, backend: str, tmp: Path, timeout_s: float) -> None:
        if backend not in ("postgresql", "sqlite"):
            raise ValueError(f"unknown Workhorse backend {backend!r}")
        self.repo = repo
        self.backend = backend
        self.name = f"workhorse-{backend}"
        self.tmp = tmp
        self.timeout_s = timeout_s

    @property
    def bin(self) -> Path:
        return self.repo / ".venv" / "bin"

    def describe(self, workers: int, concurrency: int) -> str:
        return (
            f"{workers} × `workhorse worker --concurrency {concurrency}` (asyncio), {self.backend}"
        )

    def version(self) -> str:
        log = self.tmp / "workhorse.log"
        out = run_bounded([str(self.bin / "workhorse"), "--version"], 60, log)
        return out.strip().split()[-1]

    def measure(
        self, *, jobs: int, workers: int, concurrency: int, single_jobs: int
    ) -> dict[str, Any]:
        log = self.tmp / f"{self.name}.log"
        argv = [
            str(self.bin / "workhorse"), "bench", "--database-url", self._fresh_url(),
            "--jobs", str(jobs), "--workers", str(workers), "--concurrency", str(concurrency),
            "--runs", "1", "--json",
        ]  # fmt: skip
        bench: dict[str, Any] = json.loads(
            run_bounded(argv, self.timeout_s, log).strip().splitlines()[-1]
        )
        single_argv = [
            str(self.bin / "python"), str(Path(__file__).with_name("workhorse_single.py")),
            "--database-url", self._fresh_url(), "--jobs", str(single_jobs),
        ]  # fmt: skip
        single: dict[str, Any] = json.loads(
            run_bounded(single_argv, self.timeout_s, log).strip().splitlines()[-1]
        )
        self._fresh_url()  # leave nothing behind but an empty database
        return {key: bench[key] for key in BENCH_KEYS} | single

    def _fresh_url(self) -> str:
        if self.backend == "postgresql":
            pg.recreate_database(settings.WORKHORSE_DATABASE)
            url = settings.database_url(settings.WORKHORSE_DATABASE)
        else:
            for old in self.tmp.glob("workhorse-*.db*"):
                old.unlink()
            url = f"sqlite:///{self.tmp / f'workhorse-{uuid.uuid4().hex[:8]}.db'}"
        argv = [str(self.bin / "workhorse"), "migrate", "--database-url", url]
        run_bounded(argv, 120, self.tmp / f"{self.name}.log")
        return url
