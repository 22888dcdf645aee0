"""Logging and tracing set-up for long-running commands (serve, worker, api)."""

from __future__ import annotations

import click

from workhorse.observability import logs, tracing

log_level_option = click.option(
    "--log-level",
    type=click.Choice(logs.LEVELS),
    default="info",
    show_default=True,
    envvar="WORKHORSE_LOG_LEVEL",
    help="Least severe level logged (env WORKHORSE_LOG_LEVEL).",
)

log_format_option = click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS),
    default="auto",
    show_default=True,
    envvar="WORKHORSE_LOG_FORMAT",
    help="json: one object per line; text: for people; auto: text on a terminal, else json "
    "(env WORKHORSE_LOG_FORMAT).",
)


def setup_logging(level: str, fmt: str = "auto", *, service: str = "workhorse") -> str:
    """Configure logs (returns the format used, ``auto`` resolved) and, when the ``OTEL_*``
    variables ask for it, tracing for ``service``."""
    resolved = logs.setup_logging(level, fmt)
    tracing.configure_from_env(service)
    return resolved
