"""Webhooks: a signed POST per event (Standard Webhooks), a 2xx confirms it.

Bounded timeouts, redirects never followed (a 3xx is a failure), and targets checked against
private ranges before every request. The remaining gap: the check resolves the host and httpx
resolves it again, so a DNS answer that changes in between (rebinding) is not caught.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx

from workhorse.backends import base as b
from workhorse.events import signing, targets
from workhorse.events.senders import SendResult

USER_AGENT = "workhorse-webhooks/1"
MAX_ERROR = 500
"""Characters of a failure's reason kept in the delivery log."""
CONCURRENCY = 16
"""Requests in flight at once. httpcore's pool scans every queued request against every
connection on each change (profiled: a round of 100 sends over 50 connections spent more CPU
there than in HTTP itself); a short queue in front of a pool its size keeps that scan small."""


class WebhookSender:
    def __init__(self, *, timeout: float = 10.0, allow_private: bool = False) -> None:
        self._allow_private = allow_private
        self._slots = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            limits=limits,
            trust_env=False,
        )

    async def send(self, destination: b.Destination, event: b.Event, body: bytes) -> SendResult:
        if not self._allow_private:
            refused = await targets.refuse_private(destination.url)
            if refused is not None:
                return SendResult(delivered=False, error=refused)
        try:
            async with self._slots:
                headers = self._headers(destination, event, body)
                response = await self._client.post(destination.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult(delivered=False, error=_reason(exc))
        return _result(response)

    def _headers(self, destination: b.Destination, event: b.Event, body: bytes) -> dict[str, str]:
        signed = signing.headers(destination.secrets, event.public_id, int(time.time()), body)
        return {**signed, "content-type": "application/json", "user-agent": USER_AGENT}

    async def aclose(self) -> None:
        await self._client.aclose()


def _result(response: httpx.Response) -> SendResult:
    code = response.status_code
    if 200 <= code < 300:
        return SendResult(delivered=True, status=code)
    if 300 <= code < 400:
        where = urlsplit(response.headers.get("location", "")).netloc or "elsewhere"
        return SendResult(delivered=False, status=code, error=f"redirect to {where} not followed")
    return SendResult(delivered=False, status=code, error=f"HTTP {code}")


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR]
