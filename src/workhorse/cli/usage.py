"""``workhorse usage``: what tenants, tasks or queues consumed over a window, and its cost."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

import click
from rich.table import Table

from workhorse.cli._common import database_url_option, friendly_errors, load_app
from workhorse.cli.render import console, print_json
from workhorse.usage import Prices, UsageBy, UsageTotal, totals

_WINDOW = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_window(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d``, ``2w`` as a duration; ValueError for anything else."""
    match = _WINDOW.fullmatch(text.strip().lower())
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"not a window such as 24h or 7d: {text!r}")
    return timedelta(seconds=float(match[1]) * _UNIT[match[2]])


def _window_option(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_window(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option(
    "--since",
    default="24h",
    show_default=True,
    callback=_window_option,
    help="How far back: 30m, 24h, 7d, 2w (whole hours are counted).",
)
@click.option(
    "--by",
    type=click.Choice([by.value for by in UsageBy]),
    default=UsageBy.TENANT.value,
    show_default=True,
)
@click.option("--tenant", help="Only this tenant's usage.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def usage(since: timedelta, by: str, tenant: str | None, as_json: bool, database_url: str) -> None:
    """Jobs, attempts, worker-seconds, CPU-seconds and cost per tenant, task or queue.

    Costs use WORKHORSE_PRICE_CPU_HOUR and WORKHORSE_PRICE_SLOT_HOUR (unset: 0). Read from the
    hourly roll-up, which jobs pruning leaves alone."""
    prices = Prices.from_env(os.environ)
    app = load_app(None, database_url)
    until = app.clock()
    rows = app.admin.usage(since=until - since, until=until, tenant=tenant)
    found = totals(rows, UsageBy(by), prices)
    if as_json:
        print_json(_report(found, by=by, since=until - since, until=until, prices=prices))
    else:
        console.print(_table(found, by))


def _report(
    found: list[UsageTotal], *, by: str, since: datetime, until: datetime, prices: Prices
) -> dict[str, object]:
    window = {"by": by, "since": since.isoformat(), "until": until.isoformat()}
    return window | {"prices": prices, "rows": found}


def _table(found: list[UsageTotal], by: str) -> Table:
    table = Table(by, "jobs", "attempts", "worker-s", "cpu-s", "cost")
    for total in found:
        table.add_row(
            total.key,
            str(total.jobs),
            str(total.attempts),
            f"{total.worker_seconds:.1f}",
            f"{total.cpu_seconds:.1f}",
            f"{total.cost:.4f}",
        )
    return table
