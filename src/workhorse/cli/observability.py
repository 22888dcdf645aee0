"""Options for metrics and autoscaling shared by ``serve``, ``worker`` and ``api``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click

from workhorse.observability.autoscale import AutoscaleSettings
from workhorse.observability.exposition import MetricsServer, check_metrics_token
from workhorse.observability.gauges import GaugeSettings
from workhorse.observability.labels import DEFAULT_TOP_QUEUES

metrics_port_option = click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="WORKHORSE_METRICS_PORT",
    help="Serve worker metrics (Prometheus) on this port; `serve` gives its workers PORT, "
    "PORT+1, … (env WORKHORSE_METRICS_PORT). Off by default.",
)

metrics_host_option = click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    envvar="WORKHORSE_METRICS_HOST",
    help="Address the worker metrics listen on (env WORKHORSE_METRICS_HOST); 0.0.0.0 lets other "
    "machines (a Prometheus in another pod) scrape them.",
)


def _token(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        return None if value is None else check_metrics_token(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


metrics_token_option = click.option(
    "--metrics-token",
    envvar="WORKHORSE_METRICS_TOKEN",
    callback=_token,
    metavar="TOKEN",
    help="The bearer token /metrics asks for (the API's, which is off without one, and the "
    "workers'). Prefer the environment variable WORKHORSE_METRICS_TOKEN: every user of the "
    "machine can read a command line.",
)

_GAUGE_OPTIONS = (
    click.option(
        "--metrics-interval",
        type=click.FloatRange(min=0),
        default=5.0,
        show_default=True,
        envvar="WORKHORSE_METRICS_INTERVAL",
        help="Seconds between reads of the database-derived gauges.",
    ),
    click.option(
        "--top-tenants",
        type=click.IntRange(min=0),
        default=20,
        show_default=True,
        envvar="WORKHORSE_METRICS_TOP_TENANTS",
        help='Tenants with series of their own; the rest are summed as tenant="other".',
    ),
    click.option(
        "--top-queues",
        type=click.IntRange(min=0),
        default=DEFAULT_TOP_QUEUES,
        show_default=True,
        envvar="WORKHORSE_METRICS_TOP_QUEUES",
        help='Queues with series of their own; the rest are summed as queue="other".',
    ),
    click.option(
        "--metrics-tenant-names",
        is_flag=True,
        envvar="WORKHORSE_METRICS_TENANT_NAMES",
        help="Label tenants' series with their names (default: an opaque label per tenant).",
    ),
    click.option(
        "--autoscale-min",
        type=click.IntRange(min=0),
        default=1,
        show_default=True,
        envvar="WORKHORSE_AUTOSCALE_MIN",
        help="Fewest workers workhorse_desired_workers asks for.",
    ),
    click.option(
        "--autoscale-max",
        type=click.IntRange(min=0),
        default=20,
        show_default=True,
        envvar="WORKHORSE_AUTOSCALE_MAX",
        help="Most workers workhorse_desired_workers asks for.",
    ),
    click.option(
        "--autoscale-slots",
        type=click.IntRange(min=1),
        default=None,
        envvar="WORKHORSE_AUTOSCALE_SLOTS",
        help="Slots per worker (default: the registered workers' mean concurrency).",
    ),
    click.option(
        "--autoscale-headroom",
        type=click.FloatRange(0, 10),
        default=0.2,
        show_default=True,
        envvar="WORKHORSE_AUTOSCALE_HEADROOM",
        help="Spare capacity on top of the need (0.2: 20 %).",
    ),
    click.option(
        "--autoscale-drain-target",
        type=click.FloatRange(min=1),
        default=60.0,
        show_default=True,
        envvar="WORKHORSE_AUTOSCALE_DRAIN_TARGET",
        help="Seconds within which the backlog should be cleared.",
    ),
    click.option(
        "--autoscale-cooldown",
        type=click.FloatRange(min=0),
        default=300.0,
        show_default=True,
        envvar="WORKHORSE_AUTOSCALE_COOLDOWN",
        help="Seconds a lower need must hold before the desired count comes down.",
    ),
)


def gauge_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add the gauge and autoscaling options; the command receives them as one ``gauges``
    (a GaugeSettings) argument."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        metrics_interval: float,
        top_tenants: int,
        top_queues: int,
        metrics_tenant_names: bool,
        autoscale_min: int,
        autoscale_max: int,
        autoscale_slots: int | None,
        autoscale_headroom: float,
        autoscale_drain_target: float,
        autoscale_cooldown: float,
        **kwargs: Any,
    ) -> Any:
        try:
            autoscale = AutoscaleSettings(
                min_workers=autoscale_min,
                max_workers=autoscale_max,
                slots_per_worker=autoscale_slots,
                headroom=autoscale_headroom,
                drain_target=timedelta(seconds=autoscale_drain_target),
                cooldown=timedelta(seconds=autoscale_cooldown),
            )
            kwargs["gauges"] = GaugeSettings(
                interval=timedelta(seconds=metrics_interval),
                top_tenants=top_tenants,
                top_queues=top_queues,
                tenant_names=metrics_tenant_names,
                autoscale=autoscale,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        return fn(*args, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for option in reversed(_GAUGE_OPTIONS):
        decorated = option(decorated)
    return decorated


def start_metrics_server(registry: Any, host: str, port: int, token: str | None) -> MetricsServer:
    """The metrics endpoint, or a one-line error when the port is taken."""
    try:
        return MetricsServer(registry, host, port, token=token)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve metrics on {host}:{port} ({exc.strerror}); pass another --metrics-port"
        ) from None
