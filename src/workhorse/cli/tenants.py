"""``workhorse tenants``: weights, quotas, pause and resume."""

from __future__ import annotations

import click
from rich.table import Table

from workhorse.cli._common import database_url_option, friendly_errors, load_app
from workhorse.cli.render import console, print_json
from workhorse.tenants import Tenant, TenantStats


@click.group()
def tenants() -> None:
    """Configure tenants and see what each is running."""


@tenants.command("set")
@click.argument("name")
@click.option("--weight", type=float, help="Share of worker-time relative to others (default 1).")
@click.option("--max-running", type=click.IntRange(min=0), help="Jobs running at once.")
@click.option("--max-queued", type=click.IntRange(min=0), help="Jobs waiting; more is refused.")
@click.option("--rate", type=float, help="Jobs started per second.")
@click.option("--burst", type=float, help="Starts allowed at once after idling (default: rate).")
@click.option(
    "--unlimited",
    "unlimit",
    multiple=True,
    type=click.Choice(["max-running", "max-queued", "rate"]),
    help="Remove a limit (repeatable).",
)
@database_url_option
@friendly_errors
def tenants_set(
    name: str,
    weight: float | None,
    max_running: int | None,
    max_queued: int | None,
    rate: float | None,
    burst: float | None,
    unlimit: tuple[str, ...],
    database_url: str,
) -> None:
    """Create or change tenant NAME; settings not given keep their values."""
    changes: dict[str, object] = {
        key: value
        for key, value in {
            "weight": weight,
            "max_running": max_running,
            "max_queued": max_queued,
            "rate": rate,
            "burst": burst,
        }.items()
        if value is not None
    }
    for limit in unlimit:
        changes[limit.replace("-", "_")] = None
        if limit == "rate":
            changes["burst"] = None
    tenant = load_app(None, database_url).set_tenant(name, **changes)
    click.echo(_describe(tenant))


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def tenants_list(as_json: bool, database_url: str) -> None:
    """Tenants with their quotas, running and waiting jobs, starts in the last minute."""
    stats = load_app(None, database_url).tenant_stats()
    if as_json:
        print_json(stats)
    else:
        console.print(_table(stats))


@tenants.command("pause")
@click.argument("name")
@database_url_option
@friendly_errors
def tenants_pause(name: str, database_url: str) -> None:
    """Start none of NAME's jobs until resumed (running ones finish; enqueue still works)."""
    click.echo(_describe(load_app(None, database_url).pause_tenant(name)))


@tenants.command("resume")
@click.argument("name")
@database_url_option
@friendly_errors
def tenants_resume(name: str, database_url: str) -> None:
    """Let NAME's jobs start again."""
    click.echo(_describe(load_app(None, database_url).resume_tenant(name)))


def _limit(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g}"


def _describe(tenant: Tenant) -> str:
    state = "paused" if tenant.paused else "active"
    return (
        f"tenant {tenant.name}: {state}, weight {tenant.weight:g}, "
        f"max_running {_limit(tenant.max_running)}, max_queued {_limit(tenant.max_queued)}, "
        f"rate {_limit(tenant.rate)}/s, burst {_limit(tenant.bucket_size)}"
    )


def _table(stats: list[TenantStats]) -> Table:
    table = Table(
        "tenant", "state", "weight", "running", "max running", "waiting", "max queued",
        "started/min", "rate/s", "usage (s)",
    )  # fmt: skip
    for row in stats:
        tenant = row.tenant
        table.add_row(
            tenant.name,
            "paused" if tenant.paused else "active",
            f"{tenant.weight:g}",
            str(row.running),
            _limit(tenant.max_running),
            str(row.waiting),
            _limit(tenant.max_queued),
            str(row.started_last_minute),
            _limit(tenant.rate),
            f"{row.usage:.1f}",
        )
    return table
