"""PostgreSQL's completion: a batch of outcomes, and their run time added to each tenant's
decayed usage, in one statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from workhorse.backends import base as b
from workhorse.backends.ops.usage import usage_hour
from workhorse.backends.store import Store
from workhorse.fairness import MEAN_COST_WEIGHT


def job_finish_many(store: Store, params: b.JobFinishManyParams) -> list[int]:
    if not params.outcomes:
        return []
    outcomes = {str(o.id): _outcome(o, params.now) for o in params.outcomes}
    query = {
        "outcomes": orjson.dumps(outcomes).decode(),
        "ids": list(map(int, outcomes)),
        "only_expired": params.only_expired,
        "window": params.usage_window.total_seconds(),
        "cost_weight": MEAN_COST_WEIGHT,
        "now": params.now,
        "hour": usage_hour(params.now),
    }
    return sorted(row["id"] for row in store.write("job_finish_many", query))


def _outcome(outcome: b.Outcome, now: datetime) -> dict[str, Any]:
    """One value of job_finish_many's JSON object of outcomes by job id (result embedded as the
    JSON it already is)."""
    error = outcome.error
    return {
        "token": outcome.lease_token,
        "state": outcome.state.value,
        "result": None if outcome.result_json is None else orjson.Fragment(outcome.result_json),
        "error": None
        if error is None
        else {
            "attempt": outcome.attempt,
            "type": error.type,
            "message": error.message,
            "traceback": error.traceback,
            "at": now.timestamp(),
        },
        "run_at": outcome.run_at,
        "usage": None if outcome.usage is None else outcome.usage.stored(outcome.attempt),
    }
