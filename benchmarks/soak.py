"""Soak: hours of steady load, compressed into --minutes, with retries, cancels and restarts.

Starts --workers `workhorse worker` processes and one `workhorse api` process on loopback, all
its own children, then offers --rate jobs/s for --minutes minutes (bulk calls every 50 ms from
this process, plus one job per tick through POST /v1/jobs):

- 94 % no-ops; 5 % fail their first attempt and succeed on the retry; 1 % are scheduled a minute
  out and cancelled over the API (POST /v1/jobs/{id}/cancel) 10 s later (a cancel that arrives
  after its job ran, 409, is counted as late, and the job must then have succeeded once);
- every --restart-every minutes one worker (in turn) is stopped with SIGTERM and a new one started;
- every --sample seconds: each worker's and the API's RSS, the jobs finished since the last
  sample, and dead tuples in the jobs and places tables (bounded only if autovacuum runs: where
  the server has it off, --vacuum-every runs VACUUM ANALYZE from the soak instead).

At the end it stops offering, cancels what is still scheduled, waits (at most --drain-timeout
seconds) for the queue to drain, and counts every job by task and state: nothing may be lost (a
no-op or a retried job not succeeded, a cancelled one not cancelled). It stops its children by
their PIDs (SIGTERM, then SIGKILL after 30 s) whatever happens, and never runs past --minutes
plus the drain timeout. Prints one JSON object; exits 1 if a job was lost.

    createdb wh_soak   # a fresh database for each soak: the tally counts every job of the queue
    python benchmarks/soak.py --database-url postgresql://postgres@127.0.0.1/wh_soak
    python benchmarks/soak.py --database-url … --minutes 3 --restart-every 1
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from workhorse import Workhorse, current_job
from workhorse.retry import RetryPolicy

app = Workhorse()
QUEUE = "soak"
TICK = 0.05


@app.task(queue=QUEUE, max_attempts=3)
async def soak_ok() -> None:
    """Does nothing."""


@app.task(queue=QUEUE, max_attempts=3, retry=RetryPolicy(base=timedelta(milliseconds=200)))
async def soak_flaky() -> None:
    """Fails its first attempt."""
    if current_job().attempt == 1:
        raise RuntimeError("first attempt fails, by design")


@app.task(queue=QUEUE, max_attempts=3)
async def soak_cancelled() -> None:
    """Scheduled a minute out and cancelled before it runs."""


class Children:
    """The processes this script started, and only those: started, restarted and stopped by
    their PIDs."""

    def __init__(self, url: str, workers: int) -> None:
        self.url = url
        self.port = _free_port()
        self.token = ""
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.count = workers

    def start(self, token: str) -> None:
        self.token = token
        self.api = self._spawn("api", "--port", str(self.port))
        self.workers = [self._worker() for _ in range(self.count)]

    def _worker(self) -> subprocess.Popen[bytes]:
        return self._spawn("worker", "--queues", QUEUE, "--concurrency", "50")

    def _spawn(self, command: str, *options: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "workhorse", command, "--app", "soak:app",
                "--log-level", "warning", *options]  # fmt: skip
        path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
        env = {**os.environ, "WORKHORSE_DATABASE_URL": self.url, "PYTHONPATH": path}
        return subprocess.Popen(argv, env=env)

    def restart_worker(self, index: int) -> float:
        """Stop worker ``index`` gracefully and start another; seconds the stop took."""
        started = time.monotonic()
        _stop(self.workers[index])
        self.workers[index] = self._worker()
        return time.monotonic() - started

    def stop(self) -> None:
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            _stop(proc)

    def exit_codes(self) -> dict[str, int | None]:
        """Each child's exit status, None while it runs."""
        named = {f"worker-{i}": proc for i, proc in enumerate(self.workers)}
        procs = {**named, "api": self.api} if self.api else named
        return {name: proc.poll() for name, proc in procs.items()}

    def pids(self) -> dict[str, int]:
        named = {f"worker-{i}": proc.pid for i, proc in enumerate(self.workers)}
        return {**named, "api": self.api.pid} if self.api else named


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Refused(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Api:
    """Keep-alive HTTP to the soak's API on loopback."""

    def __init__(self, port: int, token: str) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        self._conn.request("POST", path, json.dumps(body or {}), self._headers)
        response = self._conn.getresponse()
        data = response.read()
        if response.status not in (200, 201):
            raise Refused(response.status, f"POST {path}: {response.status} {data[:200]!r}")
        answer: dict[str, Any] = json.loads(data)
        return answer

    def ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(self._conn.host, self._conn.port, timeout=1)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the soak API did not start")


class Load:
    """The offered jobs: how many of each task were enqueued; the cancels go to ``cancels``."""

    def __init__(self, rate: float, cancels: queue.Queue[tuple[float, int]]) -> None:
        self.rate = rate
        self.sent: Counter[str] = Counter()
        self._cancels = cancels
        self._offered = 0

    def tick(self, elapsed: float, api: Api) -> None:
        """Enqueue what is due by ``elapsed`` seconds, and one no-op over HTTP."""
        due = int(elapsed * self.rate) - self._offered
        if due <= 0:
            return
        kinds = [_kind(self._offered + i) for i in range(due)]
        self._offered += due
        tasks = {"soak_ok": soak_ok, "soak_flaky": soak_flaky}
        app.enqueue_many([tasks[kind].prepare() for kind in kinds if kind in tasks])
        later = soak_cancelled.with_options(delay=60)
        scheduled = [later.prepare() for kind in kinds if kind == "soak_cancelled"]
        cancel_at = time.monotonic() + 10
        for handle in app.enqueue_many(scheduled):
            self._cancels.put((cancel_at, handle.id))
        api.post("/v1/jobs", {"task": "soak_ok"})
        self.sent.update([*kinds, "soak_ok"])


def _kind(n: int) -> str:
    """Job n's task: in every 100, 94 no-ops, 5 retried, 1 cancelled."""
    return {98: "soak_cancelled"}.get(n % 100, "soak_flaky" if n % 20 == 19 else "soak_ok")


def cancel_loop(
    api: Api, cancels: queue.Queue[tuple[float, int]], stop: threading.Event, late: list[int]
) -> None:
    """Cancel each job over the API once its time comes; at ``stop``, whatever is left at once.
    A job that ended before its cancel arrived goes to ``late``."""
    while True:
        try:
            at, job_id = cancels.get(timeout=0.2)
        except queue.Empty:
            if stop.is_set():
                return
            continue
        while not stop.is_set() and time.monotonic() < at:
            time.sleep(min(0.1, at - time.monotonic()))
        try:
            api.post(f"/v1/jobs/{job_id}/cancel")
        except Refused as exc:
            if exc.status != 409:  # 409: it ran before its cancel came (the API fell behind)
                raise
            late.append(job_id)
        except (OSError, http.client.HTTPException) as exc:  # the API is gone: offer() says so
            print(f"cancels stopped: {exc!r}", file=sys.stderr, flush=True)
            return


class Samples:
    """Every --sample seconds: RSS per process, jobs finished since the last, dead tuples."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg.connect(url, autocommit=True)
        self.rows: list[dict[str, Any]] = []
        self._since = self._db_now()

    def take(self, elapsed: float, children: Children) -> None:
        until = self._db_now()
        row = {
            "t": round(elapsed),
            "rss_mib": {name: _rss_mib(pid) for name, pid in children.pids().items()},
            "finished_per_s": round(self._finished(until) / (until - self._since).total_seconds()),
            "dead_tuples": self._dead_tuples(),
            "load": round(os.getloadavg()[0], 1),
        }
        self._since = until
        self.rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    def _db_now(self) -> datetime:
        row = self._conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]

    def _finished(self, until: datetime) -> int:
        """Jobs that ended between the last sample and ``until`` (the finished index's range)."""
        row = self._conn.execute(
            "SELECT count(*) FROM workhorse_jobs WHERE queue = %s"
            " AND state IN ('succeeded', 'dead', 'cancelled')"
            " AND finished_at >= %s AND finished_at < %s",
            (QUEUE, self._since, until),
        ).fetchone()
        return int(row[0]) if row else 0

    def _dead_tuples(self) -> dict[str, int]:
        """The places table's, the live jobs' partition's, and all of the jobs' partitions'."""
        rows = self._conn.execute(
            "SELECT relname, n_dead_tup FROM pg_stat_user_tables"
            " WHERE (relname = 'workhorse_places' OR relname LIKE 'workhorse_jobs_%')"
            " AND schemaname = current_schema()"
        ).fetchall()
        dead = {name: int(count) for name, count in rows}
        jobs = sum(count for name, count in dead.items() if name.startswith("workhorse_jobs_"))
        return {"workhorse_places": dead.get("workhorse_places", 0),
                "workhorse_jobs_live": dead.get("workhorse_jobs_live", 0),
                "workhorse_jobs": jobs}  # fmt: skip

    def close(self) -> None:
        self._conn.close()


EXPECTED = {"soak_ok": ("succeeded", 1), "soak_flaky": ("succeeded", 2),
            "soak_cancelled": ("cancelled", 0)}  # fmt: skip
"""Each task's end state and attempts. A job whose cancel came late (409) must have succeeded
once instead."""


def tally(url: str, sent: Counter[str], late: int) -> dict[str, Any]:
    """Every job of the soak by task: sent, in its expected end state, lost (not there, or in
    another state), run more often than expected; ``late`` cancels count as succeeded."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT task, state, attempts, count(*) FROM workhorse_jobs WHERE queue = %s"
            " GROUP BY task, state, attempts",
            (QUEUE,),
        ).fetchall()
    found: dict[str, dict[str, int]] = {task: {"sent": n, "ok": 0, "extra_attempts": 0,
                                               "other": 0} for task, n in sent.items()}  # fmt: skip
    for task, state, attempts, count in rows:
        want_state, want_attempts = EXPECTED[task]
        if task == "soak_cancelled" and state == "succeeded":
            want_state, want_attempts = state, 1
        entry = found[task]
        entry["ok" if state == want_state else "other"] += count
        if attempts > want_attempts:
            entry["extra_attempts"] += count
    found["soak_cancelled"]["late_cancels"] = late
    ran = sum(c for t, st, _, c in rows if t == "soak_cancelled" and st == "succeeded")
    found["soak_cancelled"]["ran_without_late_cancel"] = max(0, ran - late)
    for entry in found.values():
        entry["lost"] = entry["sent"] - entry["ok"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="jobs/s offered")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--restart-every", type=float, default=5.0, help="minutes")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds")
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=0.0,
        help="seconds between VACUUM ANALYZE runs of the soak's own, standing in for autovacuum "
        "on a server that has it off (0: none)",
    )
    args = parser.parse_args()
    url = args.database_url
    # SIGTERM unwinds like Ctrl-C, so the children are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    app.database_url = url
    app.open()
    app.migrate()
    if _leftovers(url):
        sys.exit(
            f"queue {QUEUE!r} already has jobs: soak a fresh database (the tally counts them all)"
        )
    children = Children(url, args.workers)
    try:
        report = soak(args, children)
    finally:
        children.stop()
        app.close()
    print(json.dumps(report, indent=2))
    sys.exit(1 if any(entry["lost"] for entry in report["jobs"].values()) else 0)


def _autovacuum(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
        return str(row[0]) if row else "unknown"


def _leftovers(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM workhorse_jobs WHERE queue = %s)", (QUEUE,)
        )
        return bool(row.fetchone()[0])  # type: ignore[index]


def soak(args: argparse.Namespace, children: Children) -> dict[str, Any]:
    children.start(app.admin.create_api_key(tenant=None, name=f"soak-{uuid.uuid4().hex[:6]}").token)
    api = Api(children.port, children.token)
    api.ready(time.monotonic() + 60)
    cancels: queue.Queue[tuple[float, int]] = queue.Queue()
    stop = threading.Event()
    late: list[int] = []
    canceller = threading.Thread(
        target=cancel_loop,
        args=(Api(children.port, children.token), cancels, stop, late),
        daemon=True,
    )
    canceller.start()
    load, samples = Load(args.rate, cancels), Samples(args.database_url)
    aborted = None
    try:
        restarts = offer(args, children, api, load, samples)
    except (OSError, http.client.HTTPException) as exc:  # a child gone: report it, still count
        restarts, aborted = [], f"{exc!r} at {samples.rows[-1]['t'] if samples.rows else 0}s"
        aborted += f"; exit codes: {children.exit_codes()}"
        print(aborted, file=sys.stderr, flush=True)
    stop.set()
    canceller.join(timeout=args.drain_timeout)
    drained = wait_drained(args.database_url, args.drain_timeout)
    samples.take(samples.rows[-1]["t"] + 1 if samples.rows else 0, children)
    samples.close()
    return {
        "minutes": args.minutes,
        "rate": args.rate,
        "offered_per_s": round(sum(load.sent.values()) / (args.minutes * 60)),
        "autovacuum": _autovacuum(args.database_url),
        "vacuum_every": args.vacuum_every,
        "restarts_s": restarts,
        "aborted": aborted,
        "drained": drained,
        "samples": samples.rows,
        "memory": memory(samples.rows),
        "jobs": tally(args.database_url, load.sent, len(late)),
    }


def offer(
    args: argparse.Namespace, children: Children, api: Api, load: Load, samples: Samples
) -> list[float]:
    """Offer the load for --minutes, sampling and restarting workers on schedule; each restart's
    seconds."""
    start = time.monotonic()
    end = start + args.minutes * 60
    next_sample, next_restart = start + args.sample, start + args.restart_every * 60
    next_vacuum = start + args.vacuum_every if args.vacuum_every else float("inf")
    restarts: list[float] = []
    while (now := time.monotonic()) < end:
        load.tick(now - start, api)
        if now >= next_vacuum:
            app.admin.storage_vacuum()
            next_vacuum += args.vacuum_every
        if now >= next_sample:
            samples.take(now - start, children)
            next_sample += args.sample
        if now >= next_restart:
            restarts.append(round(children.restart_worker(len(restarts) % args.workers), 2))
            next_restart += args.restart_every * 60
        time.sleep(max(0.0, TICK - (time.monotonic() - now)))
    return restarts


def wait_drained(url: str, timeout: float) -> bool:
    """Wait until no job of the soak is queued, running or retrying (the cancelled ones are
    cancelled by now); whether it drained in time."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM workhorse_jobs WHERE queue = %s AND state IN"
                " ('queued', 'running', 'retrying', 'scheduled')",
                (QUEUE,),
            ).fetchone()
            if row and row[0] == 0:
                return True
            time.sleep(1)
    return False


def memory(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The API's RSS growth from the first sample after warm-up (a sixth of the run) to the last,
    and each worker slot's largest RSS (a restart starts a new process in the slot)."""
    warm = rows[len(rows) // 6 :]
    api = [row["rss_mib"]["api"] for row in warm if row["rss_mib"].get("api")]
    slots = sorted({name for row in rows for name in row["rss_mib"] if name != "api"})
    return {
        "api_mib_after_warm_up": api[0] if api else None,
        "api_mib_last": api[-1] if api else None,
        "api_growth": round(api[-1] / api[0] - 1, 3) if api else None,
        "worker_mib_max": {slot: _largest(rows, slot) for slot in slots},
    }


def _largest(rows: list[dict[str, Any]], slot: str) -> float:
    return max((row["rss_mib"].get(slot) or 0.0) for row in rows)


if __name__ == "__main__":
    main()
