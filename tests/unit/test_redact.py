"""Secrets in database URLs never reach a log line, a message or a terminal."""

from __future__ import annotations

import pytest

from workhorse import Workhorse
from workhorse.backends import open_backend
from workhorse.errors import DatabaseError
from workhorse.redact import redact_url

CASES = {
    "password": ("postgresql://user:S3cret@db:5432/jobs", "postgresql://user:***@db:5432/jobs"),
    "escaped password": (
        "postgresql://user:p%40ss%3Aword@db/jobs",
        "postgresql://user:***@db/jobs",
    ),
    "password with @ and :": ("postgresql://u:a:b@c@db/jobs", "postgresql://u:***@db/jobs"),
    "several hosts": (
        "postgresql://user:S3cret@db1:5432,db2:5432/jobs?target_session_attrs=read-write",
        "postgresql://user:***@db1:5432,db2:5432/jobs?target_session_attrs=read-write",
    ),
    "password in the query": (
        "postgresql://db/jobs?user=me&password=S3cret&sslmode=require",
        "postgresql://db/jobs?user=me&password=***&sslmode=require",
    ),
    "user only": ("postgresql://user@db/jobs", "postgresql://user@db/jobs"),
    "no credentials": ("postgresql://db/jobs", "postgresql://db/jobs"),
    "sqlite": (
        "sqlite:////var/lib/jobs.db?synchronous=full",
        "sqlite:////var/lib/jobs.db?synchronous=full",
    ),
    "not a URL": ("jobs.db", "jobs.db"),
}


@pytest.mark.parametrize(("url", "expected"), CASES.values(), ids=CASES.keys())
def test_redact_url_hides_passwords_only(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_an_apps_repr_hides_the_password() -> None:
    app = Workhorse("postgresql://user:S3cret@db/jobs")
    assert "S3cret" not in repr(app)
    assert "postgresql://user:***@db/jobs" in repr(app)


def test_postgres_errors_hide_every_password() -> None:
    url = "postgresql://user:S3cret@127.0.0.1:1/jobs?password=Other&connect_timeout=1"
    with pytest.raises(DatabaseError) as raised:
        open_backend(url)
    message = str(raised.value)
    assert "S3cret" not in message and "Other" not in message
    assert "user:***@127.0.0.1:1" in message
