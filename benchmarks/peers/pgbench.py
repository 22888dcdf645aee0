"""The physical limit: single-row UPDATEs by primary key that PostgreSQL commits per second."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

import pg
import settings
from processes import run_bounded

ROWS = 100_000
SCRIPT = f"\\set id random(1, {ROWS})\nUPDATE peers_pgbench SET v = v + 1 WHERE id = :id;\n"
CLIENTS, THREADS = 4, 2
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def describe(seconds: float) -> str:
    return f"`pgbench -n -f update.sql -c {CLIENTS} -j {THREADS} -T {seconds:g}`"


def prepare() -> None:
    """The benchmark's database with a table of ROWS rows (created once, kept between runs)."""
    pg.ensure_database(settings.PGBENCH_DATABASE)
    url = settings.database_url(settings.PGBENCH_DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS peers_pgbench (id int PRIMARY KEY, v int NOT NULL)"
        )
        conn.execute(
            "INSERT INTO peers_pgbench SELECT g, 0 FROM generate_series(1, %s) g"
            " ON CONFLICT (id) DO NOTHING",
            (ROWS,),
        )


def measure(seconds: float, tmp: Path) -> float:
    """Commits per second (without the initial connection time)."""
    script = tmp / "update.sql"
    script.write_text(SCRIPT)
    argv = [
        "pgbench", "-n", "-f", str(script), "-c", str(CLIENTS), "-j", str(THREADS),
        "-T", f"{seconds:g}", settings.database_url(settings.PGBENCH_DATABASE),
    ]  # fmt: skip
    out = run_bounded(argv, seconds + 60, tmp / "pgbench.log")
    found = _TPS.search(out)
    if found is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{out}")
    return float(found.group(1))
