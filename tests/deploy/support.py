"""Readers for the deployment artefacts: the metrics contract, PromQL metric names, the
Dockerfile, the Helm chart and command lines checked against the real CLI."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import helm_python as helm
import yaml

from workhorse.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "workhorse"

Manifest = dict[str, Any]

# Series Prometheus makes itself, which alert rules may read besides the contract.
PROMETHEUS_SERIES = frozenset({"up"})

_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Metric:
    name: str
    type: str
    labels: tuple[str, ...]


def contract() -> dict[str, Metric]:
    """The metrics contract in deploy/metrics.txt, by name."""
    metrics: dict[str, Metric] = {}
    for line in (DEPLOY / "metrics.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, kind, *labels = line.split()
        metrics[name] = Metric(name, kind, tuple(labels[0].split(",")) if labels else ())
    return metrics


def series_names(metrics: Mapping[str, Metric]) -> set[str]:
    """Every series name the contract exposes (a histogram's _bucket, _sum and _count)."""
    names: set[str] = set()
    for metric in metrics.values():
        if metric.type == "histogram":
            names.update(metric.name + suffix for suffix in _HISTOGRAM_SUFFIXES)
        else:
            names.add(metric.name)
    return names


def base_name(series: str, metrics: Mapping[str, Metric]) -> str:
    """The contract metric a series belongs to (``x_bucket`` → ``x`` for a histogram)."""
    for suffix in _HISTOGRAM_SUFFIXES:
        stem = series.removesuffix(suffix)
        if stem != series and stem in metrics and metrics[stem].type == "histogram":
            return stem
    return series


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_NUMBER_OR_VARIABLE = re.compile(r"(?<![A-Za-z0-9_:])(?:\d[\w.]*|\$\w+)")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring"}
)


def promql_series(expr: str) -> set[str]:
    """The series names a PromQL expression selects (functions, labels, keywords left out)."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _NUMBER_OR_VARIABLE.sub(" ", text)
    names: set[str] = set()
    for match in _IDENTIFIER.finditer(text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def grafana_exprs(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target of a dashboard, rows' nested panels included."""
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['id']} ({panel['title']}) {target['refId']}", target["expr"]


def grafana_variable_series(dashboard: Mapping[str, Any]) -> set[str]:
    """Series named by the dashboard's ``label_values(series, label)`` variables."""
    names: set[str] = set()
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else ""
        match = re.fullmatch(r"label_values\(\s*(\w+)\s*,\s*\w+\s*\)", text)
        if match:
            names.add(match.group(1))
    return names


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DEPLOY / "grafana" / "workhorse.json").read_text())
    return loaded


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def render_chart(values: dict[str, Any] | None = None, *, name: str = "wh") -> list[Manifest]:
    """``helm template``: the chart rendered by Helm's engine, as a list of manifests."""
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=name, namespace="jobs", is_install=True)
    manifests: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


def one(manifests: list[Manifest], kind: str, name_suffix: str) -> Manifest:
    found = [
        m
        for m in manifests
        if m["kind"] == kind and m["metadata"]["name"].endswith(f"-{name_suffix}")
    ]
    assert len(found) == 1, f"expected one {kind} *-{name_suffix}, got {len(found)}"
    return found[0]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    stage: str


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions (continuation lines joined), each with its stage's name."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    instructions = []
    stage = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments
        instructions.append(Instruction(keyword, " ".join(arguments.split()), stage))
    return instructions


def exec_form(arguments: str) -> list[str]:
    """The argument list of an exec-form instruction (``CMD ["a", "b"]``)."""
    start = arguments.index("[")
    value = json.loads(arguments[start:])
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def parse_command_line(args: list[str]) -> click.Context:
    """Parse ``workhorse ARGS`` with the real CLI, without running it.

    Unknown options, bad values and missing required options raise ``click.UsageError``.
    """
    assert args, "empty command line"
    command = cli.commands.get(args[0])
    assert command is not None, f"workhorse has no command {args[0]!r}"
    rest = _without_pending_options(command, args[1:])
    return command.make_context(args[0], rest)


# Options of the metrics contract that the CLI gains with the metrics work: the deployment may use
# them already. Only dropped for a command that lacks them; once it has them, they are parsed.
_PENDING_OPTIONS = {"worker": ("--metrics-port",), "serve": ("--metrics-port",)}


def _without_pending_options(command: click.Command, args: list[str]) -> list[str]:
    known = {opt for param in command.params for opt in param.opts}
    pending = set(_PENDING_OPTIONS.get(command.name or "", ())) - known
    kept: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
        elif arg in pending:
            skip_value = True
        else:
            kept.append(arg)
    return kept


def shell_words(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)
