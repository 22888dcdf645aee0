"""The CLI's job commands: enqueue, list and show; and bad input, which gets a non-zero exit and
one line on stderr, never a traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from workhorse import JobState, Workhorse
from workhorse.backends import open_backend

from ._harness import APP, Workspace


def test_enqueue_with_options_then_list_and_show(workspace: Workspace, app: Workhorse) -> None:
    assert workspace.cli("migrate").returncode == 0
    enqueued = workspace.cli(
        "enqueue", "add", "--args", "[2, 3]", "--tenant", "acme", "--queue", "emails",
        "--priority", "7", "--delay", "60", "--max-attempts", "4", "--timeout", "2.5",
        "--app", APP,
    )  # fmt: skip
    assert enqueued.returncode == 0, enqueued.stderr
    job_id = int(enqueued.stdout.splitlines()[-1])

    job = app.get_job(job_id)
    assert (job.task, job.args, job.tenant, job.queue) == ("add", [2, 3], "acme", "emails")
    assert (job.priority, job.max_attempts, job.timeout) == (7, 4, 2.5)
    assert job.state == JobState.SCHEDULED

    listed = workspace.cli("jobs", "list", "--tenant", "acme", "--state", "scheduled", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [item["id"] for item in json.loads(listed.stdout)] == [job_id]
    shown = workspace.cli("jobs", "show", str(job_id), "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["id"], data["state"], data["queue"], data["attempts"]) == (
        job_id,
        "scheduled",
        "emails",
        0,
    )
    text = workspace.cli("jobs", "show", str(job_id))
    assert text.returncode == 0, text.stderr
    assert f"job {job_id}" in text.stdout and "scheduled" in text.stdout


GARBAGE = bytes(range(256)) * 32


@dataclass(frozen=True, slots=True)
class Case:
    args: tuple[str, ...]
    """Arguments; ``{db}``, ``{missing}`` and ``{corrupt}`` become database URLs."""
    message: str
    """A fragment the one-line error must contain."""


ENQUEUE = ("enqueue", "add", "--args", "[1, 2]", "--app", APP)

CASES = {
    "unknown task": Case(
        ("enqueue", "nosuch", "--args", "[]", "--app", APP, "--database-url", "{db}"),
        "unknown task 'nosuch'",
    ),
    "bad JSON in --args": Case(
        ("enqueue", "add", "--args", "[1,", "--app", APP, "--database-url", "{db}"),
        "not valid JSON",
    ),
    "--args not an array": Case(
        ("enqueue", "add", "--args", "{{}}", "--app", APP, "--database-url", "{db}"),
        "must be a JSON array",
    ),
    "--kwargs not an object": Case(
        (*ENQUEUE, "--kwargs", "[1]", "--database-url", "{db}"),
        "must be a JSON object",
    ),
    "app module missing": Case(
        ("enqueue", "add", "--args", "[]", "--app", "nosuchmodule:app", "--database-url", "{db}"),
        "cannot import 'nosuchmodule'",
    ),
    "app attribute not an app": Case(
        ("enqueue", "add", "--args", "[]", "--app", "tasksmod:add", "--database-url", "{db}"),
        "is not a Workhorse app",
    ),
    "app path without colon": Case(
        ("worker", "--app", "tasksmod", "--database-url", "{db}"),
        "module:attr",
    ),
    "database directory missing (jobs list)": Case(
        ("jobs", "list", "--database-url", "{missing}"), "does not exist"
    ),
    "database directory missing (enqueue)": Case(
        (*ENQUEUE, "--database-url", "{missing}"), "does not exist"
    ),
    "database directory missing (worker)": Case(
        ("worker", "--app", APP, "--burst", "--database-url", "{missing}"), "does not exist"
    ),
    "corrupt database (jobs list)": Case(
        ("jobs", "list", "--database-url", "{corrupt}"), "not a Workhorse SQLite database"
    ),
    "corrupt database (migrate)": Case(
        ("migrate", "--database-url", "{corrupt}"), "not a Workhorse SQLite database"
    ),
    "corrupt database (enqueue)": Case(
        (*ENQUEUE, "--database-url", "{corrupt}"), "not a Workhorse SQLite database"
    ),
    "corrupt database (worker)": Case(
        ("worker", "--app", APP, "--burst", "--database-url", "{corrupt}"),
        "not a Workhorse SQLite database",
    ),
    "jobs show of a missing job": Case(
        ("jobs", "show", "999999", "--database-url", "{db}"), "job 999999 not found"
    ),
    "jobs cancel of a missing job": Case(
        ("jobs", "cancel", "999999", "--database-url", "{db}"), "job 999999 not found"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_gets_a_one_line_error(workspace: Workspace, case: Case) -> None:
    open_backend(workspace.db_url).close()  # "{db}": a database that exists
    corrupt = workspace.root / "corrupt.db"
    corrupt.write_bytes(GARBAGE)
    urls = {
        "db": workspace.db_url,
        "missing": f"sqlite:///{workspace.root / 'no' / 'such' / 'dir' / 'jobs.db'}",
        "corrupt": f"sqlite:///{corrupt}",
    }

    result = workspace.run(*(arg.format(**urls) for arg in case.args), timeout=30)

    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], (
        f"not one line:\n{result.stderr}"
    )
    assert result.stderr.startswith("Error: ")
    assert case.message in result.stderr
    assert corrupt.read_bytes() == GARBAGE, "a file that is not a database is left untouched"
    assert not (workspace.root / "no").exists(), "no directory is created for a missing one"


# Every command but migrate, serve and worker (and bench, which makes its own scratch databases)
# opens only a database that exists: a mistyped path is an error, and nothing is created.
OPENERS_ONLY = {
    "keys list": ("keys", "list"),
    "keys create": ("keys", "create", "--admin"),
    "keys revoke": ("keys", "revoke", "wh_0123456789ab"),
    "jobs list": ("jobs", "list"),
    "jobs show": ("jobs", "show", "1"),
    "jobs cancel": ("jobs", "cancel", "1"),
    "jobs retry": ("jobs", "retry", "1"),
    "workers": ("workers",),
    "tenants list": ("tenants", "list"),
    "tenants set": ("tenants", "set", "acme", "--weight", "2"),
    "tenants pause": ("tenants", "pause", "acme"),
    "enqueue": ("enqueue", "add", "--args", "[1, 2]", "--app", APP),
    "api": ("api", "--app", APP, "--port", "0"),
}


@pytest.mark.parametrize("args", OPENERS_ONLY.values(), ids=OPENERS_ONLY.keys())
def test_a_missing_database_is_an_error_and_nothing_is_created(
    workspace: Workspace, args: tuple[str, ...]
) -> None:
    typo = workspace.root / "typo.db"
    result = workspace.run(*args, "--database-url", f"sqlite:///{typo}", timeout=30)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"Error: no SQLite database at {typo}; "
                                                  "`workhorse migrate` creates one"]  # fmt: skip
    assert sorted(p.name for p in workspace.root.glob("typo.db*")) == []


def test_migrate_and_worker_create_the_database(workspace: Workspace) -> None:
    for args in (("migrate",), ("worker", "--app", APP, "--burst")):
        path = workspace.root / f"{args[0]}.db"
        result = workspace.run(*args, "--database-url", f"sqlite:///{path}", timeout=60)
        assert result.returncode == 0, result.stderr
        assert path.exists()
