"""Schemathesis against ``/openapi.json``, as an admin, with every check: no generated request
gets a 500, every response matches the schema (status, headers, body, ``Allow``), schema-valid
requests are accepted and schema-violating ones refused.

Run through its CLI in a subprocess (bounded by --max-examples and a timeout), on each backend:
PostgreSQL refuses inputs (NUL characters, out-of-range numbers) that SQLite would store.

Generated strings hold no NUL character: the schema states that names refuse it, but it cannot
state it of the strings nested in a job's arguments (JSON Schema has no "anywhere inside"), so a
generator would send them as valid. The API's own tests check that they are refused.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from workhorse.api.app import ApiSettings
from workhorse.apikeys import create_key

from .support import Clock, make_app, running_api

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_no_generated_request_gets_a_server_error(
    store_url: str, clock: Clock, tmp_path: Path
) -> None:
    app = make_app(store_url, clock)
    # Nothing runs the jobs it enqueues, so a long poll on one lasts its whole wait: keep waits
    # short (the schema still offers up to a minute; the server holds a request for less).
    settings = ApiSettings(max_wait=timedelta(seconds=1))
    try:
        with running_api(app, settings) as url:
            token = create_key(app.backend, tenant=None, name="schemathesis", now=clock()).token
            result = _schemathesis(url, token, tmp_path)
    finally:
        app.close()
    output = result.stdout + result.stderr
    # From the failures' section: the report's tail alone can be one request body.
    failures = output.find("FAILURES")
    assert result.returncode == 0, output[max(failures, 0) :][:8000]
    generated = re.search(r"(\d+) generated", output)
    assert generated is not None, output[-3000:]
    assert int(generated[1]) >= 200, "schemathesis sent too few requests to mean anything"
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
    assert selected is not None, output[-3000:]
    assert int(selected[2]) >= 11, "the schema lost operations"
    assert selected[1] == selected[2] == selected[3], "every operation was tested"


# Where the API's answers differ from schemathesis's defaults, and why.
_CONFIG = """
# A body over the server's size limit is refused with 413 before its contents are read: a
# generated negative case can be both schema-violating and too large (a workflow with more steps
# than `maxItems` allows), and a 413 refuses it as surely as a 422.
[checks.negative_data_rejection]
expected-statuses = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"
]

# A workflow's steps name earlier steps by key (`after`), which JSON Schema cannot state: a
# generated workflow naming keys it lacks is refused (422) though it matches the schema. For that
# one operation a 422 is an accepted answer to schema-valid data; every check still runs on it.
[[operations]]
include-path = "/v1/workflows"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"
]

# A job's `workflow_id` is null unless it is a workflow's step; the stateful phase infers a link
# from it to GET /v1/workflows/{workflow_id} and sends that null as the path ("/v1/workflows/None"),
# which is no integer and is refused (422) though the link calls it valid.
[[operations]]
include-path = "/v1/workflows/{workflow_id}"
include-method = "GET"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"
]
"""


def _schemathesis(url: str, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKHORSE_")}
    (workdir / "schemathesis.toml").write_text(_CONFIG, encoding="utf-8")
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            "30",
            "--generation-allow-x00",
            "false",
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
            "--no-color",
            "--report-dir",
            str(workdir / "schemathesis-report"),
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
