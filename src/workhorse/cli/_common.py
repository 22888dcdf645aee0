"""What every command shares: the database URL, loading the app, one-line errors."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click

from workhorse.app import Workhorse
from workhorse.backends import DEFAULT_DATABASE_URL
from workhorse.errors import WorkhorseError

P = ParamSpec("P")
R = TypeVar("R")

database_url_option = click.option(
    "--database-url",
    envvar="WORKHORSE_DATABASE_URL",
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    help="sqlite:///path.db or postgresql://… (env WORKHORSE_DATABASE_URL).",
)


def app_option(required: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return click.option(
        "--app",
        "app_path",
        envvar="WORKHORSE_APP",
        required=required,
        metavar="MODULE:ATTR",
        help="Where the Workhorse app lives, e.g. myproject.jobs:app (env WORKHORSE_APP).",
    )


def load_app(path: str | None, database_url: str, *, create: bool = False) -> Workhorse:
    """Import ``module:attr`` (from the current directory too) and point it at ``database_url``.

    With no path, an app without tasks is returned (enough to read and change jobs). Unless
    ``create`` (``migrate``, ``serve``, ``worker``: the commands that set a database up), the
    database is opened here and must exist: a mistyped SQLite path is a one-line error, and
    no new, empty database answers in its place.
    """
    app = _import_app(path, database_url)
    if not create:
        app.open(create=False)
    return app


def _import_app(path: str | None, database_url: str) -> Workhorse:
    if path is None:
        return Workhorse(database_url)
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise click.ClickException(f"--app must look like module:attr, got {path!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.ClickException(f"cannot import {module_name!r}: {exc}") from None
    app = getattr(module, attr, None)
    if not isinstance(app, Workhorse):
        raise click.ClickException(f"{path} is not a Workhorse app (got {type(app).__name__})")
    app.database_url = database_url
    return app


def parse_json(text: str | None, what: str, expect: type[list[Any]] | type[dict[str, Any]]) -> Any:
    """Parse a JSON option; a one-line ClickException when it is malformed or the wrong shape."""
    if text is None:
        return expect()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"{what} is not valid JSON ({exc.msg} at column {exc.colno})"
        raise click.ClickException(message) from None
    if not isinstance(value, expect):
        shape = "array" if expect is list else "object"
        raise click.ClickException(f"{what} must be a JSON {shape}, got {type(value).__name__}")
    return value


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn Workhorse errors into one-line messages with exit status 1, never a traceback."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except WorkhorseError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper
