"""``workhorse serve --demo``: workers, maintenance and demo traffic in one command."""

from __future__ import annotations

import signal

import pytest

from integration.events_support import Receiver
from workhorse import JobState, Workhorse

from ._harness import APP, Workspace, logged_dispatcher_pid, pid_alive, state_counts, wait_until

TENANTS = ("acme", "globex", "initech")


@pytest.mark.slow
def test_serve_demo_runs_jobs_for_every_tenant_and_stops_on_sigterm(
    workspace: Workspace,
) -> None:
    # No --database-url: the default sqlite:///./workhorse.db lands in the working directory.
    serve = workspace.start("serve", "--demo", "--workers", "1", "--no-api", name="serve")
    database = workspace.root / "workhorse.db"
    app = Workhorse(f"sqlite:///{database}")

    def every_tenant_succeeded() -> bool:
        assert serve.alive, f"serve exited early:\n{serve.stderr()}"
        return database.exists() and all(
            app.list_jobs(tenant=tenant, states=[JobState.SUCCEEDED], limit=1) for tenant in TENANTS
        )

    try:
        wait_until(every_tenant_succeeded, timeout=30, what="a succeeded job for every tenant")
        assert {job.tenant for job in app.list_jobs(limit=100_000)} == set(TENANTS)

        serve.signal(signal.SIGTERM)
        assert serve.wait_exit(20) == 0
        # Drained: every job finished or was handed back; none is left running.
        assert JobState.RUNNING not in state_counts(app)
    finally:
        app.close()
    assert "Traceback" not in serve.output()
    assert "stopped" in serve.stderr()


def test_serve_delivers_events_from_a_dispatcher_process_it_stops_on_sigterm(
    workspace: Workspace, app: Workhorse
) -> None:
    assert workspace.cli("migrate").returncode == 0
    workspace.env["WORKHORSE_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    with Receiver() as receiver:
        added = workspace.cli("webhooks", "add", "--tenant", "acme", receiver.url)
        receiver.secret = added.stdout.splitlines()[-1]
        jobs = [app.enqueue("add", args=[n, n], tenant="acme").id for n in range(3)]
        serve = workspace.start(
            "serve", "--app", APP, "--database-url", workspace.db_url,
            "--workers", "1", "--no-api", "--no-view", name="serve",
        )  # fmt: skip
        wait_until(lambda: len(receiver.ids()) >= len(jobs), timeout=30, what="every event")
        dispatcher = wait_until(lambda: logged_dispatcher_pid(serve), timeout=5, what="its pid")
        assert pid_alive(dispatcher)
        serve.signal(signal.SIGTERM)
        assert serve.wait_exit(30) == 0
    assert sorted(event["job"]["id"] for event in receiver.received) == sorted(jobs)
    assert {event["type"] for event in receiver.received} == {"job.succeeded"}
    assert receiver.bad_signatures == 0
    assert not pid_alive(dispatcher)
    assert "Traceback" not in serve.output()
