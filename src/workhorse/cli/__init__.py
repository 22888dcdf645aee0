"""The ``workhorse`` command."""

from __future__ import annotations

import click

from workhorse import __version__
from workhorse.cli.api import api
from workhorse.cli.bench import bench
from workhorse.cli.consume import consume
from workhorse.cli.dispatch import dispatch
from workhorse.cli.events import sinks, webhooks
from workhorse.cli.jobs import enqueue, jobs, migrate, workers
from workhorse.cli.keys import keys
from workhorse.cli.serve import serve
from workhorse.cli.tenants import tenants
from workhorse.cli.usage import usage
from workhorse.cli.worker import worker
from workhorse.cli.workflows import workflows


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workhorse")
def cli() -> None:
    """Workhorse: run background jobs for many tenants, reliably and fairly."""


cli.add_command(serve)
cli.add_command(worker)
cli.add_command(migrate)
cli.add_command(enqueue)
cli.add_command(jobs)
cli.add_command(workers)
cli.add_command(bench)
cli.add_command(api)
cli.add_command(keys)
cli.add_command(tenants)
cli.add_command(usage)
cli.add_command(workflows)
cli.add_command(webhooks)
cli.add_command(sinks)
cli.add_command(consume)
cli.add_command(dispatch)


def main() -> None:
    cli(prog_name="workhorse")
