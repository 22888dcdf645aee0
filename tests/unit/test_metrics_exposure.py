"""Metrics endpoints are private unless the operator opens them: loopback by default."""

from __future__ import annotations

import click
import pytest

from workhorse.cli.serve import serve
from workhorse.cli.worker import worker
from workhorse.serve.supervisor import WorkerCommand


@pytest.mark.parametrize("command", [worker, serve], ids=["worker", "serve"])
def test_worker_metrics_listen_on_loopback_by_default(command: click.Command) -> None:
    [option] = [param for param in command.params if param.name == "metrics_host"]
    assert option.default == "127.0.0.1"


def test_serve_starts_its_workers_metrics_on_loopback_by_default() -> None:
    command = WorkerCommand(
        app_path="jobs:app", database_url="sqlite:///jobs.db", concurrency=1, queues="default",
        log_level="info", metrics_port=9400,
    )  # fmt: skip
    argv = command.argv(1)
    assert argv[argv.index("--metrics-port") + 1] == "9401"
    assert argv[argv.index("--metrics-host") + 1] == "127.0.0.1"
