"""The deployment artefacts in deploy/, checked as far as a machine without a Docker engine or a
cluster can: the Dockerfile linted, the Helm chart rendered by Helm's engine and validated against
the Kubernetes schemas, Prometheus' files checked by promtool, every metric name held to the
metrics contract, and every command line parsed by the real CLI."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from .support import (
    CHART,
    DEPLOY,
    PROMETHEUS_SERIES,
    ROOT,
    Manifest,
    base_name,
    contract,
    dashboard,
    dockerfile,
    exec_form,
    grafana_exprs,
    grafana_variable_series,
    load_yaml,
    one,
    parse_command_line,
    promql_series,
    render_chart,
    series_names,
    shell_words,
)

# The oldest and the newest Kubernetes whose schemas kubernetes-validate ships and we support.
KUBERNETES_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())
CRD_KINDS = {"ScaledObject", "ServiceMonitor"}

CHART_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "keda": {"worker": {"autoscaling": {"mode": "keda"}}},
    "hpa": {
        "worker": {"autoscaling": {"mode": "hpa"}},
        "api": {"autoscaling": {"enabled": True}},
        "serviceMonitor": {"enabled": True},
    },
    "existing-secret": {
        "database": {"existingSecret": "pg-credentials", "existingSecretKey": "dsn"},
        "metrics": {"existingSecret": "scrape-credentials", "existingSecretKey": "bearer"},
        "worker": {"metrics": {"enabled": False}},
        "migrations": {"enabled": False},
    },
}


def _tool(name: str) -> str:
    """A command installed with the dev extras (beside this Python) or by ensure-services.sh."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[dev]' / scripts/ensure-services.sh"
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# -- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    result = _run(_tool("hadolint"), "--failure-threshold", "style", str(DEPLOY / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    result = _run(_tool("hadolint"), "--failure-threshold", "style", str(bad))
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def test_dockerfile_builds_a_wheel_then_runs_it_as_a_non_root_user() -> None:
    instructions = dockerfile()
    stages = [i.arguments for i in instructions if i.keyword == "FROM"]
    assert [s.split(" AS ")[-1] for s in stages] == ["builder", "runtime"]
    builder = " ".join(i.arguments for i in instructions if i.stage == "builder")
    assert "pip wheel" in builder
    runtime = [i for i in instructions if i.stage == "runtime"]
    assert any("/wheels/workhorse-*.whl" in i.arguments for i in runtime if i.keyword == "RUN")
    users = [i.arguments for i in runtime if i.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    args = {i.keyword: i.arguments for i in instructions}
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in (DEPLOY / "Dockerfile").read_text()
    assert "/healthz" in args["HEALTHCHECK"] and "urllib.request" in args["HEALTHCHECK"]
    assert exec_form(args["ENTRYPOINT"]) == ["workhorse"]


def test_the_image_default_command_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    env = dict(
        part.split("=", 1)
        for i in dockerfile()
        if i.keyword == "ENV"
        for part in i.arguments.split()
    )
    monkeypatch.setenv("WORKHORSE_APP", env["WORKHORSE_APP"])
    command = exec_form(next(i.arguments for i in dockerfile() if i.keyword == "CMD"))
    ctx = parse_command_line(command)
    assert ctx.info_name == "api"
    assert ctx.params["host"] == "0.0.0.0" and ctx.params["port"] == 8000
    assert ctx.params["app_path"] == "workhorse.demo:app"


def test_dockerignore_admits_what_the_build_copies() -> None:
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] != "#"]
    assert lines[0] == "*", "everything is left out but what is let back in"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied: set[str] = set()
    for i in dockerfile():
        if i.keyword == "COPY" and "--from" not in i.arguments:
            *sources, _ = i.arguments.split()
            copied.update(s.rstrip("/") for s in sources)
    assert copied == allowed
    assert all((ROOT / path).exists() for path in copied)


def test_command_lines_are_checked_against_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKHORSE_APP", raising=False)
    with pytest.raises(click.UsageError, match="No such option"):
        parse_command_line(["worker", "--app", "m:a", "--concurency", "3"])
    with pytest.raises(click.UsageError, match="app"):
        parse_command_line(["api", "--port", "8000"])
    with pytest.raises(click.BadParameter):
        parse_command_line(["worker", "--app", "m:a", "--grace", "-1"])


# -- Helm chart --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(CHART_VARIANTS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    name: str = request.param
    return name, render_chart(copy.deepcopy(CHART_VARIANTS[name]))


def test_chart_passes_helm_lint() -> None:
    for values in CHART_VARIANTS.values():
        report = helm.lint(CHART, copy.deepcopy(values), strict=True)
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert not problems and not report["errors"], report


def test_every_standard_manifest_is_valid_kubernetes(
    rendered: tuple[str, list[Manifest]],
) -> None:
    _, manifests = rendered
    standard = [m for m in manifests if m["kind"] not in CRD_KINDS]
    assert {"Deployment", "Service"} <= {m["kind"] for m in standard}
    for manifest in standard:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)


def test_schema_validation_rejects_a_misspelt_field() -> None:
    deployment = one(render_chart(), "Deployment", "api")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessprobe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_selectors_and_references_match(rendered: tuple[str, list[Manifest]]) -> None:
    _, manifests = rendered
    deployments = {
        m["metadata"]["name"]: m["spec"]["template"]["metadata"]["labels"]
        for m in manifests
        if m["kind"] == "Deployment"
    }
    for m in manifests:
        if m["kind"] == "Deployment":
            assert _selects(
                m["spec"]["selector"]["matchLabels"], deployments[m["metadata"]["name"]]
            )
        if m["kind"] in {"Service", "PodDisruptionBudget"}:
            selector = m["spec"]["selector"]
            labels = selector.get("matchLabels", selector)
            assert sum(_selects(labels, pod) for pod in deployments.values()) == 1, m
        if m["kind"] in {"HorizontalPodAutoscaler", "ScaledObject"}:
            assert m["spec"]["scaleTargetRef"]["name"] in deployments


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_pods_read_the_database_url_from_the_secret(rendered: tuple[str, list[Manifest]]) -> None:
    name, manifests = rendered
    secrets = {m["metadata"]["name"] for m in manifests if m["kind"] == "Secret"}
    for pod in _pod_specs(manifests):
        for container in pod["containers"]:
            env = {e["name"]: e for e in container["env"]}
            ref = env["WORKHORSE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            if name == "existing-secret":
                assert (ref["name"], ref["key"]) == ("pg-credentials", "dsn")
                assert not secrets
            else:
                assert ref["name"] in secrets and ref["key"] == "url"
            assert env["WORKHORSE_APP"]["value"] == "workhorse.demo:app"


def test_api_and_workers_read_the_metrics_token_from_a_secret(
    rendered: tuple[str, list[Manifest]],
) -> None:
    name, manifests = rendered
    secrets = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Secret"}
    for kind in ("api", "worker"):
        pod = one(manifests, "Deployment", kind)["spec"]["template"]["spec"]
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        ref = env["WORKHORSE_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]
        if name == "existing-secret":
            assert (ref["name"], ref["key"]) == ("scrape-credentials", "bearer")
        else:
            assert ref["key"] == "token"
            assert len(secrets[ref["name"]]["stringData"]["token"]) >= 32
    migration = [m for m in manifests if m["kind"] == "Job"]
    for job in migration:
        env = job["spec"]["template"]["spec"]["containers"][0]["env"]
        assert "WORKHORSE_METRICS_TOKEN" not in {e["name"] for e in env}


def test_a_given_metrics_token_is_used_as_it_is() -> None:
    secret = one(render_chart({"metrics": {"token": "t" * 40}}), "Secret", "metrics")
    assert secret["stringData"] == {"token": "t" * 40}


def _pod_specs(manifests: list[Manifest]) -> list[dict[str, Any]]:
    return [m["spec"]["template"]["spec"] for m in manifests if m["kind"] in {"Deployment", "Job"}]


def test_pods_run_unprivileged_with_resources(rendered: tuple[str, list[Manifest]]) -> None:
    _, manifests = rendered
    for pod in _pod_specs(manifests):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert {"requests", "limits"} <= set(container["resources"])


def test_container_commands_parse(
    rendered: tuple[str, list[Manifest]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, manifests = rendered
    monkeypatch.setenv("WORKHORSE_APP", "workhorse.demo:app")
    commands = [c["args"] for pod in _pod_specs(manifests) for c in pod["containers"]]
    assert sorted(args[0] for args in commands) in (
        ["api", "migrate", "worker"],
        ["api", "worker"],
    )
    for args in commands:
        parse_command_line(args)


def test_api_probes_and_service() -> None:
    manifests = render_chart()
    container = one(manifests, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert _option(container["args"], "--host") == "0.0.0.0"
    service = one(manifests, "Service", "api")
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_worker_drains_before_kubernetes_kills_it() -> None:
    for grace in (60, 7.5, 600):
        manifests = render_chart({"worker": {"grace": grace}})
        pod = one(manifests, "Deployment", "worker")["spec"]["template"]["spec"]
        args = pod["containers"][0]["args"]
        assert float(_option(args, "--grace")) == grace
        assert pod["terminationGracePeriodSeconds"] >= grace + 10


def test_worker_exposes_its_metrics_port() -> None:
    manifests = render_chart({"worker": {"metrics": {"port": 9555}}})
    container = one(manifests, "Deployment", "worker")["spec"]["template"]["spec"]["containers"][0]
    assert _option(container["args"], "--metrics-port") == "9555"
    # Prometheus scrapes from another pod, and the kubelet probes the pod's IP: not loopback.
    assert _option(container["args"], "--metrics-host") == "0.0.0.0"
    assert container["ports"][0] == {"name": "metrics", "containerPort": 9555, "protocol": "TCP"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    service = one(manifests, "Service", "worker")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["ports"][0]["port"] == 9555


def test_migration_job_is_a_hook_after_its_secret() -> None:
    manifests = render_chart()
    job = one(manifests, "Job", "migrate")
    secret = one(manifests, "Secret", "database")
    for hook in (job, secret):
        assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    weight = "helm.sh/hook-weight"
    assert int(secret["metadata"]["annotations"][weight]) < int(
        job["metadata"]["annotations"][weight]
    )
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_autoscaling_modes() -> None:
    def kinds(values: dict[str, Any]) -> tuple[set[str], Manifest]:
        manifests = render_chart(values)
        names = {f"{m['kind']}/{m['metadata']['name'].rsplit('-', 1)[-1]}" for m in manifests}
        return names, one(manifests, "Deployment", "worker")

    names, worker = kinds({})
    assert not {"ScaledObject/worker", "HorizontalPodAutoscaler/worker"} & names
    assert worker["spec"]["replicas"] == 2
    names, worker = kinds({"worker": {"autoscaling": {"mode": "keda"}}})
    assert "ScaledObject/worker" in names and "HorizontalPodAutoscaler/worker" not in names
    assert "replicas" not in worker["spec"]  # left to the autoscaler
    hpa_values: dict[str, Any] = {"worker": {"autoscaling": {"mode": "hpa"}}}
    names, worker = kinds(copy.deepcopy(hpa_values))
    assert "HorizontalPodAutoscaler/worker" in names and "ScaledObject/worker" not in names
    assert "replicas" not in worker["spec"]
    hpa = one(render_chart(hpa_values), "HorizontalPodAutoscaler", "worker")
    metric = hpa["spec"]["metrics"][0]["external"]
    assert metric["metric"]["name"] == "workhorse_desired_workers"
    assert metric["target"] == {"type": "AverageValue", "averageValue": "1"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"worker": {"autoscaling": {"mode": "keda", "minReplicas": 0}}}, "at least 1"),
        ({"worker": {"autoscaling": {"mode": "knative"}}}, "none, keda or hpa"),
        ({"database": {"url": ""}}, "database.url"),
        ({"app": ""}, "MODULE:ATTR"),
    ],
)
def test_chart_refuses_bad_values(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
        render_chart(values)


def _check_scaled_object(scaled: Manifest) -> None:
    """KEDA's CRD is no built-in schema: the fields KEDA requires, with the types it reads."""
    assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["kind"] == "ScaledObject"
    assert scaled["metadata"]["name"]
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"]
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert spec["triggers"], "a ScaledObject needs at least one trigger"
    for trigger in spec["triggers"]:
        assert trigger["type"] == "prometheus"
        metadata = trigger["metadata"]
        assert all(isinstance(v, str) for v in metadata.values()), "KEDA metadata is strings"
        assert {"serverAddress", "query", "threshold"} <= set(metadata)
        assert float(metadata["threshold"]) > 0
        assert "workhorse_desired_workers" in promql_series(metadata["query"])


def test_scaled_objects_are_well_formed() -> None:
    keda = render_chart({"worker": {"autoscaling": {"mode": "keda"}}})
    chart = one(keda, "ScaledObject", "worker")
    example = load_yaml(DEPLOY / "keda" / "scaledobject.yaml")
    for scaled in (chart, example):
        _check_scaled_object(scaled)
    broken = copy.deepcopy(example)
    broken["spec"]["triggers"][0]["metadata"]["threshold"] = 1
    with pytest.raises(AssertionError, match="strings"):
        _check_scaled_object(broken)


def test_keda_example_matches_what_the_chart_renders() -> None:
    manifests = render_chart({"worker": {"autoscaling": {"mode": "keda"}}}, name="workhorse")
    chart = one(manifests, "ScaledObject", "worker")
    example = load_yaml(DEPLOY / "keda" / "scaledobject.yaml")
    assert example["spec"]["scaleTargetRef"] == chart["spec"]["scaleTargetRef"]
    assert example["spec"]["triggers"] == chart["spec"]["triggers"]
    worker = one(manifests, "Deployment", "worker")["metadata"]["name"]
    assert example["spec"]["scaleTargetRef"]["name"] == worker == "workhorse-worker"


def test_service_monitor_scrapes_named_service_ports() -> None:
    manifests = render_chart({"serviceMonitor": {"enabled": True}})
    monitor = next(m for m in manifests if m["kind"] == "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    services = [
        m
        for m in manifests
        if m["kind"] == "Service"
        and _selects(monitor["spec"]["selector"]["matchLabels"], m["metadata"]["labels"])
    ]
    ports = {p["name"] for s in services for p in s["spec"]["ports"]}
    endpoints = monitor["spec"]["endpoints"]
    assert {e["port"] for e in endpoints} == ports == {"http", "metrics"}
    assert all(e["path"] == "/metrics" for e in endpoints)
    secret = one(manifests, "Secret", "metrics")["metadata"]["name"]
    for endpoint in endpoints:
        authorization = endpoint["authorization"]
        assert authorization["type"] == "Bearer"
        assert authorization["credentials"] == {"name": secret, "key": "token"}


# -- Compose, Prometheus, Grafana --------------------------------------------------------------


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(DEPLOY / "compose.yaml")
    return loaded


def test_compose_services_and_order() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "api", "worker", "prometheus", "grafana"}
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("migrate", "api", "worker"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / services[name]["build"]["context"] / "deploy" / "Dockerfile").exists()


def test_compose_commands_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _compose()["services"]
    monkeypatch.setenv("WORKHORSE_APP", services["api"]["environment"]["WORKHORSE_APP"])
    worker = shell_words(services["worker"]["command"])
    for name in ("migrate", "api", "worker"):
        parse_command_line(shell_words(services[name]["command"]))
    assert _option(worker, "--metrics-port") == "9400"
    assert _option(worker, "--metrics-host") == "0.0.0.0"  # Prometheus is another container
    assert "/healthz" in " ".join(services["worker"]["healthcheck"]["test"])
    stop = services["worker"]["stop_grace_period"]
    assert stop.endswith("s") and int(stop[:-1]) > float(_option(worker, "--grace"))


def test_compose_mounts_exist() -> None:
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), volume


def test_prometheus_scrapes_what_compose_runs() -> None:
    services = _compose()["services"]
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api_port = _option(shell_words(services["api"]["command"]), "--port")
    assert jobs["workhorse-api"]["static_configs"][0]["targets"] == [f"api:{api_port}"]
    worker_port = _option(shell_words(services["worker"]["command"]), "--metrics-port")
    discovery = jobs["workhorse-worker"]["dns_sd_configs"][0]
    assert discovery["names"] == ["worker"] and str(discovery["port"]) == worker_port
    assert all(job["metrics_path"] == "/metrics" for job in jobs.values())
    token = services["api"]["environment"]["WORKHORSE_METRICS_TOKEN"]
    assert services["worker"]["environment"]["WORKHORSE_METRICS_TOKEN"] == token
    for job in jobs.values():
        assert job["authorization"] == {"type": "Bearer", "credentials": token}


def test_promtool_accepts_config_and_rules() -> None:
    promtool = _tool("promtool")
    config = _run(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    rules = _run(promtool, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 9 rules found" in rules.stdout


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    exprs = list(grafana_exprs(dashboard()))
    keda = load_yaml(DEPLOY / "keda" / "scaledobject.yaml")["spec"]["triggers"][0]
    exprs.append(("keda", keda["metadata"]["query"]))
    rules = [
        {"record": f"check:expr_{n}", "expr": _as_prometheus_sees_it(expr)}
        for n, (_, expr) in enumerate(exprs)
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = _run(_tool("promtool"), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    unbalanced = {"record": "check:broken", "expr": "sum(rate(workhorse_jobs_started_total[5m])"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "broken", "rules": [unbalanced]}]}))
    assert _run(_tool("promtool"), "check", "rules", str(path)).returncode != 0


def _as_prometheus_sees_it(expr: str) -> str:
    """Grafana's variables replaced as Grafana would before sending the query."""
    return expr.replace("$__rate_interval", "1m").replace("$queue", ".*")


def test_grafana_dashboard_structure() -> None:
    board = dashboard()
    assert board["uid"] == "workhorse" and board["title"] == "Workhorse"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    titles = {p["title"] for p in board["panels"]}
    assert {"Wait time (ready to started)", "Desired vs current workers"} <= titles


def test_grafana_provisioning_matches_compose() -> None:
    grafana = _compose()["services"]["grafana"]
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "workhorse.yml")
    folder = provider["providers"][0]["options"]["path"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"])
    assert mounts["./grafana/workhorse.json"] == f"{folder}/workhorse.json"
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    source = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    url = source["datasources"][0]["url"]
    assert url == "http://prometheus:9090" and "prometheus" in _compose()["services"]


# -- The metrics contract ----------------------------------------------------------------------


def test_promql_series_finds_metric_names_only() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, queue) (rate(workhorse_job_wait_seconds_bucket"
        '{queue=~"$queue", state="queued"}[$__rate_interval]))) > 60 and on() '
        'max(workhorse_workers offset 5m) == 0 or absent(up{job="x"})'
    )
    assert promql_series(expr) == {"workhorse_job_wait_seconds_bucket", "workhorse_workers", "up"}


def _used_series() -> dict[str, set[str]]:
    alerts = load_yaml(DEPLOY / "prometheus" / "alerts.yml")
    board = dashboard()
    keda = load_yaml(DEPLOY / "keda" / "scaledobject.yaml")
    values = load_yaml(CHART / "values.yaml")
    return {
        "alerts": {
            name
            for group in alerts["groups"]
            for rule in group["rules"]
            for name in promql_series(rule["expr"])
        },
        "dashboard": {name for _, e in grafana_exprs(board) for name in promql_series(e)}
        | grafana_variable_series(board),
        "keda example": {
            name for t in keda["spec"]["triggers"] for name in promql_series(t["metadata"]["query"])
        },
        "chart": promql_series(values["worker"]["autoscaling"]["keda"]["query"])
        | {values["worker"]["autoscaling"]["hpa"]["metricName"]},
    }


def test_every_metric_used_is_in_the_contract() -> None:
    metrics = contract()
    known = series_names(metrics)
    for where, names in _used_series().items():
        unknown = {n for n in names if n not in known and n not in PROMETHEUS_SERIES}
        assert not unknown, f"{where} uses metrics outside the contract: {sorted(unknown)}"
    assert "workhorse_desired_workers" in _used_series()["keda example"]


def test_the_dashboard_shows_every_contract_metric() -> None:
    metrics = contract()
    shown = {base_name(name, metrics) for name in _used_series()["dashboard"]}
    assert set(metrics) - shown == set()


def test_contract_names_follow_prometheus_conventions() -> None:
    metrics = contract()
    assert len(metrics) == 27
    for metric in metrics.values():
        assert re.fullmatch(r"workhorse_[a-z_]+", metric.name)
        assert metric.type in {"counter", "gauge", "histogram"}
        assert metric.name.endswith("_total") == (metric.type == "counter"), metric.name
