"""``workhorse consume``: turn broker messages into jobs of the tasks subscribed to them."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import click

from workhorse.cli._common import app_option, database_url_option, friendly_errors, load_app
from workhorse.events import consume as consuming


@click.command()
@click.argument("url")
@click.option("--subject", help="NATS: the subject to consume (wildcards allowed).")
@click.option("--queue", "queue_name", help="RabbitMQ: the queue to consume.")
@click.option("--tenant", help="The tenant of messages that name none (default: the app's).")
@click.option("--durable", default="workhorse", show_default=True, help="JetStream consumer.")
@app_option(required=True)
@database_url_option
@friendly_errors
def consume(
    url: str,
    subject: str | None,
    queue_name: str | None,
    tenant: str | None,
    durable: str,
    app_path: str,
    database_url: str,
) -> None:
    """Consume nats://host:4222 --subject 'orders.>' or amqp://… --queue orders: each message
    becomes one job per task subscribed to its type, acknowledged after the jobs are committed;
    a redelivered message enqueues nothing new."""
    scheme = urlsplit(url).scheme
    if scheme in {"nats", "tls"} and subject and not queue_name:

        def consumer(stop: asyncio.Event) -> object:
            return consuming.consume_nats(
                app, url, subject, tenant=tenant, durable=durable, stop=stop
            )
    elif scheme in {"amqp", "amqps"} and queue_name and not subject:

        def consumer(stop: asyncio.Event) -> object:
            return consuming.consume_amqp(app, url, queue_name, tenant=tenant, stop=stop)
    else:
        raise click.UsageError("pass nats://… --subject S, or amqp://… --queue Q")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = load_app(app_path, database_url)
    try:
        consuming.run(consumer)
    finally:
        app.close()
