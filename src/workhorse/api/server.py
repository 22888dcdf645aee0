"""Serving the API with uvicorn: on its own (``workhorse api``) or inside ``workhorse serve``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Iterator

import uvicorn

from workhorse.api.app import ApiSettings, create_api
from workhorse.app import Workhorse


def server_config(
    app: Workhorse,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ApiSettings | None = None,
    log_level: str = "info",
    access_log: bool = True,
) -> uvicorn.Config:
    return uvicorn.Config(
        create_api(app, settings),
        host=host,
        port=port,
        log_level=log_level,
        # uvicorn's loggers propagate to ours (JSON or text, see workhorse.observability.logs)
        # instead of getting handlers and formats of their own.
        log_config=None,
        access_log=access_log,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=5,
    )


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port), so that a port in use is an
    OSError here rather than an exit from inside uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it Nagle's algorithm meets delayed ACKs and every response waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening now, clients that connect while the server starts wait in the backlog
        # instead of being refused.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class ApiServer(uvicorn.Server):
    """``workhorse api``'s server: SIGINT/SIGTERM finish the requests in flight, then the process
    exits with status 0 (plain uvicorn re-raises the signal once drained, so it dies of it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its host: ``workhorse serve`` owns SIGINT/SIGTERM
    (to drain its workers) and stops the server by setting ``should_exit``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def serve_until_cancelled(self, sock: socket.socket) -> None:
        """Serve on ``sock``; when cancelled, finish the requests in flight, then stop."""
        serving = asyncio.create_task(self.serve(sockets=[sock]))
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            self.should_exit = True
            await serving
            raise
        finally:
            sock.close()
