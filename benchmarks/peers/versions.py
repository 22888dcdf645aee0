"""What was measured: the libraries' pip versions and the servers' versions."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

import redis

import pg
import settings

DISTRIBUTIONS = (
    "workhorse",
    "celery",
    "kombu",
    "dramatiq",
    "procrastinate",
    "rq",
    "taskiq",
    "taskiq-redis",
    "arq",
    "saq",
    "redis",
    "psycopg",
)


def collect(repo: Path) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["redis-server"] = str(
        redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"]
    )
    found["postgresql"] = pg.server_version()
    found["workhorse-commit"] = _commit(repo)
    return found


def _commit(repo: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.strip() or "unknown"
