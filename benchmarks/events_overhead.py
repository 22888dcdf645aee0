"""Job throughput with two event sinks configured (a signed webhook on loopback and NATS) against
none, on PostgreSQL: the outbox must not slow job processing by more than 20 %.

    python benchmarks/events_overhead.py --jobs 3000 --rounds 3

Events are delivered by the worker's own ``workhorse dispatch`` child process (``--dispatch
process``, the default), by a ``workhorse dispatch`` process started beside a worker that
dispatches nothing (``--dispatch separate``), or on the worker's own event loop (``--dispatch
inline``); ``--dispatch off`` measures the outbox's writes alone. Each round runs both setups
(no sinks, two sinks), one after the other in alternating order, each on a fresh schema: enqueue
``--jobs`` no-op jobs, then time one in-process worker (concurrency 20, burst) draining them
while events are delivered. Prints the jobs/s of every run, over its processing span (the first
job's start to the last job's end: the figure compared) and over the worker's whole run (start-up
and stop included: with ``--jobs`` small, the stop of the dispatcher child weighs on it), with the
worker's CPU per job and the deliveries still pending at the end; then the medians and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent.parent / "tests")]

from pgtest import postgres_schema  # noqa: E402
from workhorse import Job, Workhorse  # noqa: E402
from workhorse.bench.throughput import all_jobs  # noqa: E402
from workhorse.events.dispatcher import DispatcherConfig  # noqa: E402
from workhorse.worker import DispatchMode, Worker, WorkerConfig  # noqa: E402

NATS_URL = "nats://127.0.0.1:4222"


class _Accept(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def _serve(port: int, nice: int) -> None:
    os.nice(nice)
    ThreadingHTTPServer.request_queue_size = 256
    ThreadingHTTPServer(("127.0.0.1", port), _Accept).serve_forever()


def run_once(jobs: int, sinks: bool, hook_url: str, dispatch: str) -> tuple[float, float]:
    """Jobs per second of one worker draining ``jobs`` jobs: over the processing span (the
    first job's start to the last job's end, as the jobs record them) and over the worker's
    whole run (its start-up and its stop included, the dispatcher child's stop among them)."""
    with postgres_schema() as url:
        app = Workhorse(url)
        app.migrate()
        app.dispatcher_config = DispatcherConfig(allow_private=True)  # the defaults otherwise

        @app.task()
        def noop() -> None:
            """Nothing: the cost measured is the platform's."""

        if sinks:
            app.events.add_webhook("bench", hook_url)
            app.events.add_sink(NATS_URL, tenant="bench")
        app.enqueue_many([noop.with_options(tenant="bench").prepare() for _ in range(jobs)])
        separate = dispatch == "separate"
        dispatcher = _dispatcher(url) if sinks and separate else None
        started, cpu = time.monotonic(), time.process_time()
        mode = DispatchMode.OFF if separate else DispatchMode(dispatch)
        config = WorkerConfig(burst=True, concurrency=20, dispatch=mode)
        asyncio.run(Worker(app, config).run_async())
        elapsed = time.monotonic() - started
        cpu_us = (time.process_time() - cpu) / jobs * 1e6
        span = _span(all_jobs(app, "default"))
        print(f"  the worker's CPU: {cpu_us:.0f} us per job; run {elapsed:.2f}s, span {span:.2f}s")
        if sinks:
            left = sum(count.pending for count in app.events.backlog())
            print(f"  deliveries still pending when the last job ended: {left} of {2 * jobs}")
        if dispatcher is not None:
            dispatcher.terminate()
            dispatcher.wait(10)
        app.close()
    return jobs / span, jobs / elapsed


def _span(done: list[Job]) -> float:
    """Seconds from the first job's start to the last job's end."""
    starts = [job.started_at for job in done if job.started_at]
    ends = [job.finished_at for job in done if job.finished_at]
    return (max(ends) - min(starts)).total_seconds()


def _dispatcher(url: str) -> subprocess.Popen[bytes]:
    """``workhorse dispatch`` on ``url``, in a process of its own."""
    argv = [sys.executable, "-m", "workhorse", "dispatch", "--database-url", url]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--dispatch",
        choices=["process", "inline", "separate", "off"],
        default="process",
        help="Deliver from the worker's dispatcher child, from a `workhorse dispatch` process "
        "beside it, on the worker's own loop, or not at all (the outbox's writes only).",
    )
    parser.add_argument(
        "--receiver-nice",
        type=int,
        default=0,
        help="Run the webhook receiver, which stands for a system elsewhere, at this niceness.",
    )
    args = parser.parse_args()
    os.environ["WORKHORSE_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    rates: dict[bool, list[float]] = {False: [], True: []}
    whole: dict[bool, list[float]] = {False: [], True: []}
    # The receiver runs in a process of its own, as a real endpoint would: in the worker's
    # process it would take the worker's CPU and GIL.
    port = 18000 + os.getpid() % 1000
    spawn = multiprocessing.get_context("spawn")
    receiver = spawn.Process(target=_serve, args=(port, args.receiver_nice), daemon=True)
    receiver.start()
    time.sleep(1)
    try:
        for round_ in range(args.rounds):
            for sinks in (False, True) if round_ % 2 == 0 else (True, False):
                hook = f"http://127.0.0.1:{port}/hook"
                rate, run_rate = run_once(args.jobs, sinks, hook, args.dispatch)
                rates[sinks].append(rate)
                whole[sinks].append(run_rate)
                label = "two sinks" if sinks else "no sinks "
                print(f"round {round_ + 1} {label}: {rate:.0f} jobs/s ({run_rate:.0f} per run)")
    finally:
        receiver.terminate()
    for label, figures in (("processing span", rates), ("whole run", whole)):
        none, two = statistics.median(figures[False]), statistics.median(figures[True])
        print(
            f"{label}: median no sinks {none:.0f} jobs/s, two sinks {two:.0f} jobs/s, "
            f"ratio {two / none:.2f}"
        )
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
