"""``workhorse keys``: create, list and revoke API keys."""

from __future__ import annotations

import json

import click

from workhorse.backends import base as b
from workhorse.cli._common import database_url_option, friendly_errors, load_app


@click.group()
def keys() -> None:
    """API keys for the REST API: one tenant's, or admin (every tenant)."""


@keys.command("create")
@click.option("--tenant", help="The only tenant the key may see and change.")
@click.option("--admin", is_flag=True, help="A key for every tenant and the admin endpoints.")
@click.option("--name", default="", help="A label to tell keys apart in `keys list`.")
@database_url_option
@friendly_errors
def keys_create(tenant: str | None, admin: bool, name: str, database_url: str) -> None:
    """Create a key and print it once, as the last line (only its hash is stored)."""
    if admin == (tenant is not None):
        raise click.UsageError("pass exactly one of --tenant NAME or --admin")
    app = load_app(None, database_url)
    try:
        new = app.admin.create_api_key(tenant=tenant, name=name)
    finally:
        app.close()
    scope = "admin" if tenant is None else f"tenant {tenant}"
    click.echo(f"created {scope} key {new.key.prefix} (id {new.key.id}); it is shown only once:")
    click.echo(new.token)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@database_url_option
@friendly_errors
def keys_list(as_json: bool, database_url: str) -> None:
    """Every key, revoked ones too (never their secrets)."""
    app = load_app(None, database_url)
    try:
        found = app.admin.list_api_keys()
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps([_as_dict(key) for key in found], indent=2))
        return
    if not found:
        click.echo("no API keys; make one with `workhorse keys create --tenant NAME`")
    for key in found:
        click.echo(_line(key))


@keys.command("revoke")
@click.argument("prefix_or_id")
@database_url_option
@friendly_errors
def keys_revoke(prefix_or_id: str, database_url: str) -> None:
    """Revoke a key by its prefix (wh_…) or id; it stops working at once."""
    app = load_app(None, database_url)
    try:
        key = app.admin.revoke_api_key(prefix_or_id)
    finally:
        app.close()
    if key is None:
        raise click.ClickException(f"no API key {prefix_or_id!r}")
    click.echo(f"revoked key {key.prefix} (id {key.id})")


def _as_dict(key: b.ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "tenant": key.tenant,
        "admin": key.tenant is None,
        "name": key.name,
        "created_at": key.created_at.isoformat(),
        "last_used_at": None if key.last_used_at is None else key.last_used_at.isoformat(),
        "revoked_at": None if key.revoked_at is None else key.revoked_at.isoformat(),
    }


def _line(key: b.ApiKey) -> str:
    scope = "admin" if key.tenant is None else f"tenant={key.tenant}"
    used = "never used" if key.last_used_at is None else f"used {key.last_used_at:%Y-%m-%d %H:%M}"
    state = "" if key.revoked_at is None else f"  REVOKED {key.revoked_at:%Y-%m-%d %H:%M}"
    label = f"  {key.name!r}" if key.name else ""
    return f"{key.id:>4}  {key.prefix}  {scope}{label}  {used}{state}"
