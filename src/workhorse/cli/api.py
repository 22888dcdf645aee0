"""``workhorse api``: serve the REST API (and nothing else) under uvicorn."""

from __future__ import annotations

import click

from workhorse.cli._common import app_option, database_url_option, friendly_errors, load_app
from workhorse.cli.logs import log_format_option, log_level_option, setup_logging
from workhorse.cli.observability import gauge_options
from workhorse.observability.gauges import GaugeSettings

host_option = click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address the API listens on."
)
MIB = 1024 * 1024

port_option = click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="API port."
)


@click.command()
@app_option(required=True)
@database_url_option
@host_option
@port_option
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=MIB,
    show_default=True,
    help="Largest request body in bytes (413 beyond).",
)
@gauge_options
@log_level_option
@log_format_option
@friendly_errors
def api(
    app_path: str,
    database_url: str,
    host: str,
    port: int,
    max_body: int,
    log_level: str,
    log_format: str,
    gauges: GaugeSettings,
) -> None:
    """Serve the REST API (/v1, /docs, /healthz, /readyz, /metrics) until Ctrl-C / SIGTERM."""
    # The web stack is imported only by the commands that serve it: every other command starts
    # faster without it.
    from workhorse.api.app import ApiSettings
    from workhorse.api.server import ApiServer, server_config

    setup_logging(log_level, log_format, service="workhorse-api")
    app = load_app(app_path, database_url)
    app.open()  # on SQLite, migrate, before taking requests
    settings = ApiSettings(max_body=max_body, gauges=gauges)
    config = server_config(app, host=host, port=port, settings=settings, log_level=log_level)
    try:
        ApiServer(config).run()
    finally:
        app.close()
