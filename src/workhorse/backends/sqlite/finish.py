"""SQLite's completion: a batch of outcomes in one statement, then each finished attempt's run
time added to its tenant's decayed usage and the outcomes' events, in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from workhorse.backends import base as b
from workhorse.backends.ops import events
from workhorse.backends.store import Row, Store, Tx
from workhorse.clock import to_epoch
from workhorse.fairness import MEAN_COST_WEIGHT


def job_finish_many(store: Store, params: b.JobFinishManyParams) -> list[int]:
    now = to_epoch(params.now)
    query = {
        "outcomes": orjson.dumps([_outcome(o, now) for o in params.outcomes]).decode(),
        "only_expired": params.only_expired,
        "now": now,
    }
    with store.transaction() as tx:
        finished = tx.all("job_finish_many", query)
        _add_usage(tx, finished, now, params.usage_window.total_seconds())
        events.record(tx, [row["id"] for row in finished], now)
    return sorted(row["id"] for row in finished)


def _add_usage(tx: Tx, finished: list[Row], now: float, window: float) -> None:
    """Add the finished attempts' run time to their tenants' decayed usage (tenants in name
    order)."""
    run_times: dict[str, list[float]] = defaultdict(list)
    for row in finished:
        run_times[row["tenant"]].append(max(0.0, now - (row["started_at"] or now)))
    for tenant in sorted(run_times):
        seconds = run_times[tenant]
        query = {
            "name": tenant,
            "seconds": sum(seconds),
            "mean": sum(seconds) / len(seconds),
            "window": window,
            "cost_weight": MEAN_COST_WEIGHT,
            "now": now,
        }
        tx.count("tenant_add_usage", query)


def _outcome(outcome: b.Outcome, now: float) -> list[Any]:
    """One element of job_finish_many's JSON array: [id, lease token, state, result JSON text,
    error JSON text, run_at]."""
    error = None
    if outcome.error is not None:
        error = orjson.dumps(
            {
                "attempt": outcome.attempt,
                "type": outcome.error.type,
                "message": outcome.error.message,
                "traceback": outcome.error.traceback,
                "at": now,
            }
        ).decode()
    return [
        outcome.id,
        outcome.lease_token,
        outcome.state.value,
        outcome.result_json,
        error,
        None if outcome.run_at is None else to_epoch(outcome.run_at),
    ]
