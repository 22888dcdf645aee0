"""A real Prometheus scrapes ``workhorse serve --demo``: the API's /metrics and a worker's,
both behind the metrics token (Prometheus' ``authorization`` setting), as deploy/ configures it.

Both expositions must pass ``promtool check metrics`` without a single lint remark, and the
Prometheus server (Debian's ``prometheus``, installed by scripts/ensure-services.sh) must store
the series: its HTTP API answers queries for them. Everything is on loopback ports picked free,
bounded in time, and stopped by PID.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from ._harness import Proc, Workspace, wait_until

PROMETHEUS = "/usr/bin/prometheus"
TOKEN = "prometheus-scrapes-with-this-token"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
DEMO_TENANTS = ("acme", "globex", "initech")
OPERATIONS = Path(__file__).parents[2] / "docs" / "operations.md"


def _documented_alerts() -> str:
    """The alerting rules docs/operations.md recommends (its ``groups:`` YAML block)."""
    text = OPERATIONS.read_text()
    start = text.index("```yaml\ngroups:") + len("```yaml\n")
    return text[start : text.index("```", start)]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> httpx.Response | None:
    try:
        return httpx.get(url, headers=headers, timeout=5)
    except httpx.TransportError:
        return None


def _promtool(text: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: run scripts/ensure-services.sh"
    return subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@contextmanager
def _prometheus(root: Path, targets: dict[str, int]) -> Iterator[str]:
    """A Prometheus server scraping ``targets`` (job name: port) every second and evaluating the
    documented alerts, with its own configuration and storage under ``root``; yields its base
    URL and stops it by PID."""
    config = root / "prometheus.yml"
    rules = root / "alerts.yml"
    rules.write_text(_documented_alerts())
    credentials = root / "metrics-token"
    credentials.write_text(TOKEN)
    jobs = [
        {
            "job_name": job,
            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            "authorization": {"credentials_file": str(credentials)},
        }
        for job, port in targets.items()
    ]
    # JSON is YAML: no YAML library needed.
    config.write_text(
        json.dumps(
            {
                "global": {
                    "scrape_interval": "1s",
                    "scrape_timeout": "1s",
                    "evaluation_interval": "1s",
                },
                "rule_files": [str(rules)],
                "scrape_configs": jobs,
            }
        )
    )
    port = _free_port()
    log = root / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={root / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _query(base: str, promql: str, log: Path) -> list[dict[str, Any]] | None:
    response = _get(f"{base}/api/v1/query?query={promql}")
    if response is None or response.status_code != 200:
        return None
    body = response.json()
    assert body["status"] == "success", f"{body}\n{log.read_text()[-2000:]}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result or None


def _evaluated_rules(base: str) -> list[dict[str, Any]] | None:
    """Every loaded rule once each has been evaluated at least once; None before."""
    response = _get(f"{base}/api/v1/rules")
    if response is None or response.status_code != 200:
        return None
    groups = response.json()["data"]["groups"]
    rules: list[dict[str, Any]] = [rule for group in groups for rule in group["rules"]]
    if not rules or any(rule.get("lastEvaluation", "").startswith("0001") for rule in rules):
        return None
    return rules


def _serve(workspace: Workspace, api_port: int, metrics_port: int) -> Proc:
    # Tracing stays off: no OTEL_* variable reaches the processes.
    for name in [name for name in workspace.env if name.startswith("OTEL_")]:
        del workspace.env[name]
    workspace.env["WORKHORSE_METRICS_TOKEN"] = TOKEN
    return workspace.start(
        "serve",
        "--demo",
        "--workers",
        "1",
        "--port",
        str(api_port),
        "--metrics-port",
        str(metrics_port),
        "--metrics-host",
        "127.0.0.1",
        "--metrics-interval",
        "1",
        name="serve",
    )


@pytest.mark.slow
def test_prometheus_stores_the_series_of_serve_demo(workspace: Workspace) -> None:
    assert Path(PROMETHEUS).exists(), "prometheus is missing: run scripts/ensure-services.sh"
    api_port, metrics_port = _free_port(), _free_port()
    serve = _serve(workspace, api_port, metrics_port)
    api, worker = f"http://127.0.0.1:{api_port}/metrics", f"http://127.0.0.1:{metrics_port}/metrics"

    def scraped(url: str, needle: str) -> str | None:
        assert serve.alive, f"serve exited early:\n{serve.stderr()[-3000:]}"
        response = _get(url, AUTHORIZATION)
        return response.text if response is not None and needle in response.text else None

    try:
        worker_text = wait_until(
            lambda: scraped(worker, 'workhorse_jobs_finished_total{outcome="succeeded"'),
            timeout=60,
            what="the worker's metrics to count a finished job",
        )
        api_text = wait_until(
            lambda: scraped(api, "workhorse_jobs_enqueued_total{"),
            timeout=30,
            what="the API's metrics to count enqueued jobs",
        )
        for name, text in (("api", api_text), ("worker", worker_text)):
            checked = _promtool(text)
            assert checked.returncode == 0, f"{name}: {checked.stdout}{checked.stderr}"
            assert checked.stdout.strip() == checked.stderr.strip() == "", f"{name}: lint remarks"
        for url in (api, worker):
            refused = _get(url)
            assert refused is not None and refused.status_code == 401, url
        assert not [tenant for tenant in DEMO_TENANTS if tenant in api_text], "tenants named"
        assert "workhorse_desired_workers " in api_text
        assert "workhorse_worker_slots 10.0" in worker_text
        exposed = _types(api_text) | _types(worker_text)
        missing = {name: kind for name, kind in _contract().items() if exposed.get(name) != kind}
        assert missing == {}, "deploy/metrics.txt names series /metrics does not expose as such"

        root = workspace.root
        with _prometheus(
            root, {"workhorse-api": api_port, "workhorse-worker": metrics_port}
        ) as base:
            log = root / "prometheus.log"
            finished = wait_until(
                lambda: _query(base, "workhorse_jobs_finished_total", log),
                timeout=60,
                what="Prometheus to store workhorse_jobs_finished_total",
                interval=0.5,
            )
            assert {row["metric"]["job"] for row in finished} == {"workhorse-worker"}
            assert {row["metric"]["outcome"] for row in finished} >= {"succeeded", "retried"}
            for query in ("workhorse_queue_jobs", "workhorse_desired_workers", "workhorse_workers"):
                stored = wait_until(
                    partial(_query, base, query, log),
                    timeout=30,
                    what=f"Prometheus to store {query}",
                    interval=0.5,
                )
                assert {row["metric"]["job"] for row in stored} == {"workhorse-api"}
            up = _query(base, "up", log)
            assert up is not None
            assert {row["metric"]["job"]: row["value"][1] for row in up} == {
                "workhorse-api": "1",
                "workhorse-worker": "1",
            }
            rules = wait_until(
                lambda: _evaluated_rules(base),
                timeout=30,
                what="Prometheus to evaluate the documented alerts",
                interval=0.5,
            )
            assert len(rules) >= 10
            assert [r["name"] for r in rules if r["health"] != "ok"] == [], rules
    finally:
        serve.signal(signal.SIGTERM)
        status = serve.wait_exit(30)
    assert status == 0
    _check_logs_and_trace_context(workspace, serve)


def _types(exposition: str) -> dict[str, str]:
    """Metric name -> type, from the exposition's ``# TYPE`` lines."""
    found = {}
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            found[name] = kind
    return found


def _contract() -> dict[str, str]:
    """deploy/metrics.txt: the names and types the dashboard, alerts and autoscaling rely on."""
    text = (Path(__file__).parents[2] / "deploy" / "metrics.txt").read_text()
    rows = [line.split() for line in text.splitlines() if line.strip() and line[0] != "#"]
    return {row[0]: row[1] for row in rows}


def _check_logs_and_trace_context(workspace: Workspace, serve: Proc) -> None:
    """Not a TTY: every line is JSON; job lines carry the job's and the worker's fields. With
    tracing off no job stored a trace context."""
    lines = [json.loads(line) for line in serve.stderr().splitlines() if line.strip()]
    assert lines, "serve logged nothing"
    failed = [line for line in lines if " failed: " in line["message"]]
    assert failed, "the demo's failing tasks logged nothing"
    assert {"job_id", "tenant", "task", "attempt", "worker_id"} <= set(failed[0])
    assert "trace_id" not in failed[0]
    with sqlite3.connect(workspace.root / "workhorse.db") as db:
        traced = db.execute(
            "SELECT count(*) FROM workhorse_jobs WHERE trace_context IS NOT NULL"
        ).fetchone()[0]
        total = db.execute("SELECT count(*) FROM workhorse_jobs").fetchone()[0]
    assert (traced, total > 0) == (0, True)
