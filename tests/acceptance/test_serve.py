"""``workhorse serve --demo``: workers, maintenance and demo traffic in one command."""

from __future__ import annotations

import signal

import pytest

from workhorse import JobState, Workhorse

from ._harness import Workspace, state_counts, wait_until

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
