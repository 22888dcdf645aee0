"""``workhorse webhooks`` and ``workhorse sinks``: the real CLI, as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from integration.events_support import Receiver
from pgtest import postgres_schema
from workhorse import Workhorse
from workhorse.events.process import NICE

from ._harness import Workspace, logged_dispatcher_pid, pid_alive, wait_until


def test_webhooks_add_prints_the_secret_last_and_list_never_shows_it(
    workspace: Workspace, app: Workhorse
) -> None:
    assert workspace.cli("migrate").returncode == 0
    added = workspace.cli(
        "webhooks", "add", "--tenant", "acme", "https://hooks.example.com/wh",
        "--events", "job.dead,job.succeeded",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    secret = added.stdout.splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = workspace.cli("webhooks", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [hook] = json.loads(listed.stdout)
    assert (hook["tenant"], hook["url"]) == ("acme", "https://hooks.example.com/wh")
    assert hook["events"] == ["job.dead", "job.succeeded"]
    assert secret not in listed.stdout
    assert app.events.webhooks()[0].secrets == (secret,)
    removed = workspace.cli("webhooks", "remove", str(hook["id"]))
    assert removed.returncode == 0, removed.stderr
    assert app.events.webhooks() == []


def test_webhooks_add_refuses_bad_input_with_one_line(workspace: Workspace) -> None:
    assert workspace.cli("migrate").returncode == 0
    for args in (
        ("--tenant", "acme", "ftp://example.com/"),
        ("--tenant", "acme", "http://127.0.0.1:9/"),
        ("--tenant", "acme", "https://example.com/", "--events", "job.nope"),
    ):
        result = workspace.cli("webhooks", "add", *args)
        assert result.returncode == 1
        assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert workspace.cli("webhooks", "remove", "99").returncode == 1
    assert workspace.cli("webhooks", "redeliver", "99").returncode == 1


def test_webhooks_deliveries_and_redeliver(workspace: Workspace, app: Workhorse) -> None:
    assert workspace.cli("migrate").returncode == 0
    workspace.env["WORKHORSE_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    assert (
        workspace.cli("webhooks", "add", "--tenant", "acme", "http://127.0.0.1:9/").returncode == 0
    )
    job = app.enqueue("add", args=[1, 2], tenant="acme")
    app.cancel(job.id)
    listed = workspace.cli("webhooks", "deliveries", "--tenant", "acme", "--json")
    assert listed.returncode == 0, listed.stderr
    [delivery] = json.loads(listed.stdout)
    assert (delivery["state"], delivery["event_type"]) == ("pending", "job.cancelled")
    again = workspace.cli("webhooks", "redeliver", str(delivery["id"]))
    assert again.returncode == 0, again.stderr
    assert "due again" in again.stdout


def test_sinks_add_list_remove(workspace: Workspace) -> None:
    assert workspace.cli("migrate").returncode == 0
    nats = workspace.cli("sinks", "add", "nats://127.0.0.1:4222")
    amqp = workspace.cli(
        "sinks", "add", "amqp://guest:guest@127.0.0.1:5672/", "--exchange", "events"
    )
    assert nats.returncode == 0 and amqp.returncode == 0, nats.stderr + amqp.stderr
    listed = json.loads(workspace.cli("sinks", "list", "--json").stdout)
    assert [(s["kind"], s["tenant"]) for s in listed] == [("nats", None), ("amqp", None)]
    assert listed[1]["options"] == {"exchange": "events"}
    bad = workspace.cli("sinks", "add", "http://example.com")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: ")
    assert workspace.cli("webhooks", "remove", str(listed[0]["id"])).returncode == 1
    assert workspace.cli("sinks", "remove", str(listed[0]["id"])).returncode == 0
    assert len(json.loads(workspace.cli("sinks", "list", "--json").stdout)) == 1


def test_dispatch_delivers_events_until_sigterm(workspace: Workspace, app: Workhorse) -> None:
    assert workspace.cli("migrate").returncode == 0
    workspace.env["WORKHORSE_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    with Receiver() as receiver:
        added = workspace.cli("webhooks", "add", "--tenant", "acme", receiver.url)
        receiver.secret = added.stdout.splitlines()[-1]
        jobs = [app.enqueue("add", args=[n, n], tenant="acme").id for n in range(3)]
        for job_id in jobs:
            app.cancel(job_id)
        proc = workspace.start("dispatch", "--database-url", workspace.db_url, name="dispatch")
        deadline = time.monotonic() + 30
        while len(receiver.ids()) < len(jobs):
            assert time.monotonic() < deadline, proc.stderr_path.read_text()[-2000:]
            time.sleep(0.1)
        proc.signal(signal.SIGTERM)
        assert proc.wait_exit(15) == 0
    assert sorted(event["job"]["id"] for event in receiver.received) == sorted(jobs)
    assert receiver.bad_signatures == 0


def test_a_worker_delivers_events_from_a_dispatcher_child_that_ends_with_it(
    workspace: Workspace, app: Workhorse
) -> None:
    workspace.env["WORKHORSE_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    with postgres_schema() as url, Receiver() as receiver:
        workspace.db_url = url
        app.close()
        app.database_url = url
        assert workspace.cli("migrate").returncode == 0
        added = workspace.cli("webhooks", "add", "--tenant", "acme", receiver.url)
        receiver.secret = added.stdout.splitlines()[-1]
        jobs = [app.enqueue("add", args=[n, n], tenant="acme").id for n in range(3)]
        # --dispatch process, the default
        worker = workspace.start_worker("--log-level", "debug", "--log-format", "json")
        wait_until(lambda: len(receiver.ids()) >= len(jobs), timeout=30, what="every event")
        dispatcher = wait_until(lambda: logged_dispatcher_pid(worker), timeout=5, what="its pid")
        assert dispatcher != worker.pid and pid_alive(dispatcher)
        argv = Path(f"/proc/{dispatcher}/cmdline").read_bytes().decode().split("\0")
        assert argv[argv.index("--log-level") + 1] == "debug"  # it logs as its worker does
        assert argv[argv.index("--log-format") + 1] == "json"
        niceness = os.getpriority(os.PRIO_PROCESS, dispatcher)
        assert niceness == os.getpriority(os.PRIO_PROCESS, worker.pid) + NICE
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(30) == 0
        app.close()
    assert sorted(event["job"]["id"] for event in receiver.received) == sorted(jobs)
    assert not pid_alive(dispatcher)
