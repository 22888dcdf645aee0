"""Helpers for the events tests: a loopback webhook receiver, apps over either database, and a
dispatcher driven round by round."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pgtest import postgres_schema
from workhorse import Workhorse
from workhorse.dbcall import DbCall
from workhorse.events import signing
from workhorse.events.dispatcher import Dispatcher, DispatcherConfig
from workhorse.events.schedule import RetrySchedule

FAST = DispatcherConfig(
    idle=timedelta(milliseconds=20),
    webhooks=RetrySchedule(delays=(timedelta(milliseconds=10),) * 5),
    brokers=RetrySchedule(delays=(timedelta(milliseconds=50),), forever=True),
    allow_private=True,
)
"""A dispatcher whose retries come in milliseconds (a webhook gives up after 6 attempts)."""


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of ``kind`` ('sqlite' or 'postgres')."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/events.db"
        return
    with postgres_schema() as url:
        yield url


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    """A dispatcher opens many connections at once: refuse none of them."""
    daemon_threads = True


class Receiver:
    """A webhook endpoint on loopback: checks every request's signature (401 when wrong), fails
    each event's first ``fail_first`` tries with a 500, then takes it (204)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.secret = ""
        self.fail_first = fail_first
        self.tries: Counter[str] = Counter()
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def ids(self) -> list[str]:
        with self._lock:
            return [event["id"] for event in self.received]

    def _take(self, headers: dict[str, str], body: bytes) -> int:
        if not signing.verify(self.secret, headers, body, int(time.time())):
            with self._lock:
                self.bad_signatures += 1
            return 401
        event = json.loads(body)
        with self._lock:
            self.tries[event["id"]] += 1
            if self.tries[event["id"]] <= self.fail_first:
                return 500
            self.received.append(event)
        return 204

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints answer

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {key.lower(): value for key, value in self.headers.items()}
                self.send_response(receiver._take(headers, body))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler


def direct_db() -> DbCall:
    """A DbCall that runs each operation on a thread of its own."""
    import asyncio

    def call(fn: Callable[[Any], Any], params: Any, /) -> Any:
        return asyncio.to_thread(fn, params)

    return call


async def dispatch_until(
    app: Workhorse, done: Callable[[], bool], *, timeout: float = 30.0
) -> Dispatcher:
    """Run a dispatcher over ``app`` until ``done()`` holds (failing after ``timeout``)."""
    import asyncio

    dispatcher = Dispatcher(app.backend, direct_db(), app.clock, config=FAST)
    deadline = time.monotonic() + timeout
    try:
        while not done():
            assert time.monotonic() < deadline, "events not delivered in time"
            if await dispatcher.tick() == 0:
                await asyncio.sleep(0.02)
    finally:
        await dispatcher.aclose()
    return dispatcher
