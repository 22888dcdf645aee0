"""`benchmarks/claim_cost.py`, run small on SQLite: one JSON line per store, with the medians of
its windows when asked, and the places vacuumed between claims when asked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "claim_cost.py"


def test_claim_cost_prints_the_claims_and_the_medians_of_their_windows() -> None:
    command = [sys.executable, str(SCRIPT), "--tenants", "3,5", "--sizes", "40"]
    options = ["--rounds", "12", "--limit", "4", "--windows", "3", "--places-vacuum-every", "5"]
    done = subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=120, check=True
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["tenants"], line["queued"]) for line in lines] == [(3, 40), (5, 40)]
    for line in lines:
        assert line["backend"] == "sqlite"
        assert len(line["claim_ms_p50_by_window"]) == 3
        assert all(ms > 0 for ms in line["claim_ms_p50_by_window"])
        assert line["claim_ms_p50"] > 0
        assert line["places_vacuum_every"] == 5
