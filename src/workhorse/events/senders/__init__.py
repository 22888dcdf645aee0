"""What delivers an event to one kind of destination, and confirms it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workhorse.backends import base as b


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    delivered: bool
    """True only once the destination confirmed it (a 2xx, a broker's ack)."""
    status: int | None = None
    error: str | None = None


class Sender(Protocol):
    async def send(self, destination: b.Destination, event: b.Event, body: bytes) -> SendResult:
        """Deliver ``body`` (the event's envelope); errors come back as a result, not raised."""

    async def aclose(self) -> None:
        """Close every connection."""


def subject_token(text: str) -> str:
    """``text`` as one token of a NATS subject or AMQP routing key (no dots, spaces or
    wildcards)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "_"
