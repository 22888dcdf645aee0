"""The events surface of an app, ``app.events``: webhook endpoints and broker sinks, the
delivery log, redelivery and the outbox's backlog.

Like ``app.admin``, it reaches the database only through its app. Every method that takes a
``tenant`` acts on that tenant's destinations and deliveries only (a tenant key's view); None is
the operator's view of all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.events import signing, targets
from workhorse.events.senders.amqp import DEFAULT_EXCHANGE
from workhorse.types import JSON

if TYPE_CHECKING:
    from workhorse.app import Workhorse

K = b.DestinationKind

JOB_EVENT_TYPES = ("job.succeeded", "job.dead", "job.cancelled", "job.retrying")
"""The event types a job's transitions write."""
WORKFLOW_EVENT_TYPES = ("workflow.succeeded", "workflow.failed", "workflow.cancelled")
"""The event types a workflow's end writes."""
EVENT_TYPES = JOB_EVENT_TYPES + WORKFLOW_EVENT_TYPES

_SINK_SCHEMES = {"nats": K.NATS, "tls": K.NATS, "amqp": K.AMQP, "amqps": K.AMQP}


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """An endpoint just added, with its signing secret: shown this once, never again."""

    destination: b.Destination
    secret: str


class Events:
    """Destinations and deliveries of an app's database."""

    def __init__(self, app: Workhorse) -> None:
        self._app = app

    # -- destinations ------------------------------------------------------------------------

    def add_webhook(
        self, tenant: str, url: str, *, event_types: Sequence[str] | None = None
    ) -> NewWebhook:
        """A new endpoint of ``tenant`` for ``event_types`` (None: every event)."""
        targets.check_url(url, allow_private=targets.private_allowed())
        secret = signing.new_secret()
        destination = self._insert(
            tenant, K.WEBHOOK, url, options={}, event_types=event_types, secrets=(secret,)
        )
        return NewWebhook(destination=destination, secret=secret)

    def add_sink(
        self,
        url: str,
        *,
        tenant: str | None = None,
        exchange: str | None = None,
        event_types: Sequence[str] | None = None,
    ) -> b.Destination:
        """A broker sink (``nats://…`` or ``amqp://…``) for every tenant's events, or
        ``tenant``'s only."""
        kind = _SINK_SCHEMES.get(urlsplit(url).scheme)
        if kind is None or not urlsplit(url).hostname:
            raise ConfigurationError(f"a sink URL is nats://host:port or amqp://…: {url!r}")
        if exchange is not None and kind is not K.AMQP:
            raise ConfigurationError("--exchange applies to amqp:// sinks only")
        options: dict[str, JSON] = (
            {"exchange": exchange or DEFAULT_EXCHANGE} if kind is K.AMQP else {}
        )
        return self._insert(tenant, kind, url, options=options, event_types=event_types, secrets=())

    def _insert(
        self,
        tenant: str | None,
        kind: b.DestinationKind,
        url: str,
        *,
        options: dict[str, JSON],
        event_types: Sequence[str] | None,
        secrets: tuple[str, ...],
    ) -> b.Destination:
        params = b.DestinationInsertParams(
            tenant=tenant,
            kind=kind,
            url=url,
            options=options,
            event_types=_types(event_types),
            secrets=secrets,
            now=self._app.clock(),
        )
        return self._app.backend.destination_insert(params)

    def webhooks(self, *, tenant: str | None = None) -> list[b.Destination]:
        return self._list(tenant, (K.WEBHOOK,))

    def sinks(self, *, tenant: str | None = None) -> list[b.Destination]:
        return self._list(tenant, (K.NATS, K.AMQP))

    def _list(
        self, tenant: str | None, kinds: tuple[b.DestinationKind, ...]
    ) -> list[b.Destination]:
        params = b.DestinationListParams(tenant=tenant, kinds=kinds)
        return self._app.backend.destination_list(params)

    def get(self, destination_id: int, *, tenant: str | None = None) -> b.Destination | None:
        found = self._list(tenant, ())
        return next((d for d in found if d.id == destination_id), None)

    def remove(self, destination_id: int, *, tenant: str | None = None) -> bool:
        """Delete a destination and its deliveries; False if there is none (of ``tenant``)."""
        params = b.DestinationDeleteParams(id=destination_id, tenant=tenant)
        return self._app.backend.destination_delete(params)

    def enable(self, destination_id: int, *, tenant: str | None = None) -> b.Destination | None:
        """Enable a disabled destination again; its pending deliveries resume."""
        return self._update(destination_id, tenant, enable=True)

    def rotate_secret(self, destination_id: int, *, tenant: str | None = None) -> NewWebhook | None:
        """A new signing secret for a webhook; requests carry both signatures (the new and
        the newest old one) until ``finish_rotation``."""
        current = self.get(destination_id, tenant=tenant)
        if current is None or current.kind is not K.WEBHOOK:
            return None
        secret = signing.new_secret()
        updated = self._update(destination_id, tenant, secrets=(secret, current.secrets[0]))
        return None if updated is None else NewWebhook(destination=updated, secret=secret)

    def finish_rotation(
        self, destination_id: int, *, tenant: str | None = None
    ) -> b.Destination | None:
        """Sign with the newest secret only."""
        current = self.get(destination_id, tenant=tenant)
        if current is None or current.kind is not K.WEBHOOK:
            return None
        return self._update(destination_id, tenant, secrets=current.secrets[:1])

    def _update(
        self,
        destination_id: int,
        tenant: str | None,
        *,
        enable: bool = False,
        secrets: tuple[str, ...] | None = None,
    ) -> b.Destination | None:
        params = b.DestinationUpdateParams(
            id=destination_id, tenant=tenant, enable=enable, secrets=secrets, now=self._app.clock()
        )
        return self._app.backend.destination_update(params)

    # -- deliveries and events ---------------------------------------------------------------

    def deliveries(
        self,
        *,
        tenant: str | None = None,
        destination_id: int | None = None,
        state: b.DeliveryState | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[b.Delivery]:
        """Deliveries, newest first."""
        params = b.DeliveryListParams(
            tenant=tenant,
            destination_id=destination_id,
            state=state,
            before_id=before_id,
            limit=limit,
        )
        return self._app.backend.delivery_list(params)

    def attempts(self, delivery_id: int, *, tenant: str | None = None) -> list[b.DeliveryAttempt]:
        """The delivery log of one delivery, oldest attempt first."""
        params = b.DeliveryAttemptListParams(id=delivery_id, tenant=tenant)
        return self._app.backend.delivery_attempt_list(params)

    def redeliver(self, delivery_id: int, *, tenant: str | None = None) -> b.Delivery | None:
        """Send a delivery again now, with a fresh retry schedule; None if not found."""
        params = b.DeliveryRedeliverParams(id=delivery_id, tenant=tenant, now=self._app.clock())
        return self._app.backend.delivery_redeliver(params)

    def history(
        self, *, tenant: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[b.Event]:
        """Events written, oldest first."""
        params = b.EventListParams(tenant=tenant, after_id=after_id, limit=limit)
        return self._app.backend.event_list(params)

    def backlog(self) -> list[b.BacklogCount]:
        """Pending deliveries per destination kind."""
        return self._app.backend.delivery_backlog(b.DeliveryBacklogParams(now=self._app.clock()))


def _types(event_types: Sequence[str] | None) -> tuple[str, ...] | None:
    """``event_types`` checked and sorted; None (every type) when not given."""
    if event_types is None:
        return None
    chosen = tuple(sorted({t.strip() for t in event_types if t.strip()}))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if not chosen or unknown:
        raise ConfigurationError(
            f"event types are some of {', '.join(EVENT_TYPES)}; got {list(event_types)}"
        )
    return chosen
