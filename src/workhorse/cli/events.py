"""``workhorse webhooks`` and ``workhorse sinks``: where job events go, and their deliveries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from workhorse.app import Workhorse
from workhorse.backends import base as b
from workhorse.cli._common import database_url_option, friendly_errors, load_app
from workhorse.cli.render import print_json

T = TypeVar("T")

_EVENTS_HELP = "Comma-separated event types (job.succeeded,job.dead,…); default: every one."


def _with_app(database_url: str, use: Callable[[Workhorse], T]) -> T:
    app = load_app(None, database_url)
    try:
        return use(app)
    finally:
        app.close()


def _types(events: str | None) -> list[str] | None:
    return None if events is None else events.split(",")


def destination_view(destination: b.Destination) -> dict[str, Any]:
    """A destination as listings show it: never its secrets."""
    return {
        "id": destination.id,
        "tenant": destination.tenant,
        "kind": str(destination.kind),
        "url": destination.url,
        "options": destination.options,
        "events": None if destination.event_types is None else list(destination.event_types),
        "disabled_at": destination.disabled_at,
        "disabled_reason": destination.disabled_reason,
        "created_at": destination.created_at,
    }


def _line(destination: b.Destination) -> str:
    scope = "every tenant" if destination.tenant is None else f"tenant={destination.tenant}"
    types = ",".join(destination.event_types or ("every event",))
    state = (
        ""
        if destination.disabled_at is None
        else f"  DISABLED {destination.disabled_at:%Y-%m-%d %H:%M}: {destination.disabled_reason}"
    )
    return f"{destination.id:>4}  {destination.kind:<7}  {destination.url}  {scope}  {types}{state}"


def _show(found: list[b.Destination], as_json: bool, empty: str) -> None:
    if as_json:
        print_json([destination_view(d) for d in found])
    elif not found:
        click.echo(empty)
    for destination in [] if as_json else found:
        click.echo(_line(destination))


# -- webhooks -------------------------------------------------------------------------------


@click.group()
def webhooks() -> None:
    """Signed webhook endpoints that receive a tenant's job events."""


@webhooks.command("add")
@click.argument("url")
@click.option("--tenant", required=True, help="The tenant whose events it receives.")
@click.option("--events", help=_EVENTS_HELP)
@database_url_option
@friendly_errors
def webhooks_add(url: str, tenant: str, events: str | None, database_url: str) -> None:
    """Add an endpoint and print its signing secret once, as the last line."""
    new = _with_app(
        database_url, lambda app: app.events.add_webhook(tenant, url, event_types=_types(events))
    )
    click.echo(
        f"added webhook {new.destination.id} for tenant {tenant}; its secret, shown only once:"
    )
    click.echo(new.secret)


@webhooks.command("list")
@click.option("--tenant", help="Only this tenant's endpoints.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def webhooks_list(tenant: str | None, as_json: bool, database_url: str) -> None:
    """Endpoints (never their secrets), with why any is disabled."""
    found = _with_app(database_url, lambda app: app.events.webhooks(tenant=tenant))
    _show(found, as_json, "no webhooks; add one with `workhorse webhooks add --tenant NAME URL`")


@webhooks.command("remove")
@click.argument("webhook_id", type=int)
@database_url_option
@friendly_errors
def webhooks_remove(webhook_id: int, database_url: str) -> None:
    """Remove an endpoint and its pending deliveries."""
    _remove(database_url, webhook_id, "webhook")


@webhooks.command("enable")
@click.argument("webhook_id", type=int)
@database_url_option
@friendly_errors
def webhooks_enable(webhook_id: int, database_url: str) -> None:
    """Enable a disabled endpoint again; its pending deliveries resume."""
    if _with_app(database_url, lambda app: app.events.enable(webhook_id)) is None:
        raise click.ClickException(f"no webhook {webhook_id}")
    click.echo(f"enabled webhook {webhook_id}")


@webhooks.command("rotate-secret")
@click.argument("webhook_id", type=int)
@click.option("--finish", is_flag=True, help="End the overlap: sign with the newest secret only.")
@database_url_option
@friendly_errors
def webhooks_rotate(webhook_id: int, finish: bool, database_url: str) -> None:
    """A new secret, printed once as the last line; both sign requests until --finish."""
    if finish:
        if _with_app(database_url, lambda app: app.events.finish_rotation(webhook_id)) is None:
            raise click.ClickException(f"no webhook {webhook_id}")
        click.echo(f"webhook {webhook_id} signs with its newest secret only")
        return
    new = _with_app(database_url, lambda app: app.events.rotate_secret(webhook_id))
    if new is None:
        raise click.ClickException(f"no webhook {webhook_id}")
    click.echo(f"webhook {webhook_id} signs with the old and the new secret; the new one:")
    click.echo(new.secret)


@webhooks.command("deliveries")
@click.option("--tenant", help="Only this tenant's deliveries.")
@click.option("--webhook", "destination_id", type=int, help="Only this endpoint's.")
@click.option("--state", type=click.Choice([str(s) for s in b.DeliveryState]))
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def webhooks_deliveries(
    tenant: str | None,
    destination_id: int | None,
    state: str | None,
    limit: int,
    as_json: bool,
    database_url: str,
) -> None:
    """The delivery log, newest first: state, attempts, last response code or error."""
    found = _with_app(
        database_url,
        lambda app: app.events.deliveries(
            tenant=tenant,
            destination_id=destination_id,
            state=None if state is None else b.DeliveryState(state),
            limit=limit,
        ),
    )
    if as_json:
        print_json(found)
        return
    for d in found:
        last = d.last_status if d.last_status is not None else (d.last_error or "")
        click.echo(
            f"{d.id:>6}  evt_{d.event_id}  {d.event_type:<14}  {d.state:<9}  "
            f"attempts={d.attempts}  dest={d.destination_id}  {last}"
        )


@webhooks.command("redeliver")
@click.argument("delivery_id", type=int)
@database_url_option
@friendly_errors
def webhooks_redeliver(delivery_id: int, database_url: str) -> None:
    """Send a delivery again now, with a fresh retry schedule."""
    if _with_app(database_url, lambda app: app.events.redeliver(delivery_id)) is None:
        raise click.ClickException(f"no delivery {delivery_id}")
    click.echo(f"delivery {delivery_id} is due again")


def _remove(database_url: str, destination_id: int, what: str) -> None:
    def remove(app: Workhorse) -> bool:
        found = app.events.get(destination_id)
        webhook = found is not None and found.kind is b.DestinationKind.WEBHOOK
        return webhook == (what == "webhook") and app.events.remove(destination_id)

    if not _with_app(database_url, remove):
        raise click.ClickException(f"no {what} {destination_id}")
    click.echo(f"removed {what} {destination_id}")


# -- sinks ----------------------------------------------------------------------------------


@click.group()
def sinks() -> None:
    """Brokers that receive job events: NATS (subjects workhorse.<tenant>.<type>) and RabbitMQ
    (a topic exchange, routing keys <tenant>.<type>)."""


@sinks.command("add")
@click.argument("url")
@click.option("--tenant", help="Only this tenant's events (default: every tenant's).")
@click.option("--exchange", help="RabbitMQ: the topic exchange (default: workhorse).")
@click.option("--events", help=_EVENTS_HELP)
@database_url_option
@friendly_errors
def sinks_add(
    url: str, tenant: str | None, exchange: str | None, events: str | None, database_url: str
) -> None:
    """Add nats://host:4222 or amqp://user:pass@host:5672/."""
    sink = _with_app(
        database_url,
        lambda app: app.events.add_sink(
            url, tenant=tenant, exchange=exchange, event_types=_types(events)
        ),
    )
    click.echo(f"added {sink.kind} sink {sink.id}")


@sinks.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def sinks_list(as_json: bool, database_url: str) -> None:
    """Broker sinks."""
    found = _with_app(database_url, lambda app: app.events.sinks())
    _show(found, as_json, "no sinks; add one with `workhorse sinks add nats://host:4222`")


@sinks.command("remove")
@click.argument("sink_id", type=int)
@database_url_option
@friendly_errors
def sinks_remove(sink_id: int, database_url: str) -> None:
    """Remove a sink and its pending deliveries."""
    _remove(database_url, sink_id, "sink")
