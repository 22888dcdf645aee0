"""Which webhook URLs may be called: http(s) only, and never an address in a private, loopback,
link-local or otherwise non-public range unless the operator allows it
(``WORKHORSE_WEBHOOKS_ALLOW_PRIVATE=1``). Checked when an endpoint is added (the URL's form and
a literal address) and again before every request (every address its host resolves to)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from urllib.parse import urlsplit

from workhorse.errors import ConfigurationError

ALLOW_PRIVATE_ENV = "WORKHORSE_WEBHOOKS_ALLOW_PRIVATE"


class PrivateTargetError(ConfigurationError):
    """The webhook URL names a private, loopback or link-local address."""


def private_allowed() -> bool:
    """Whether the operator allows private targets."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "") == "1"


def check_url(url: str, *, allow_private: bool) -> str:
    """``url`` if it is an http(s) URL with a host (and, unless allowed, no private literal
    address); else a ConfigurationError saying why."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # a bad IPv6 literal or port raises here
    except ValueError:
        host = None
    if host is None or parts.scheme not in {"http", "https"}:
        raise ConfigurationError(f"a webhook URL is http:// or https:// with a host: {url!r}")
    if parts.username or parts.password:
        raise ConfigurationError("a webhook URL carries no user or password")
    literal = _literal(host)
    if literal is not None and not allow_private and not _public(literal):
        raise PrivateTargetError(f"{host} is not a public address ({ALLOW_PRIVATE_ENV})")
    return url


async def refuse_private(url: str) -> str | None:
    """Why a request to ``url`` is refused now (its host resolves to a non-public address), or
    None when it may be sent."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not _public(ip):
            return f"{host} resolves to {ip}, not a public address ({ALLOW_PRIVATE_ENV})"
    return None


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_global
