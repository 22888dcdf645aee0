"""SQLite's completion: a batch of outcomes in one statement, then each finished attempt's run
time (times its slots) added to its tenant's decayed usage and the outcomes' events, in the same
transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import orjson

from workhorse.backends import base as b
from workhorse.backends.ops import events, graph
from workhorse.backends.sqlite.usage import usage_add
from workhorse.backends.store import Row, Store, Tx
from workhorse.clock import to_epoch
from workhorse.fairness import MEAN_COST_WEIGHT
from workhorse.jobs import TERMINAL_STATES

_ENDED = frozenset(state.value for state in TERMINAL_STATES)


def job_finish_many(store: Store, params: b.JobFinishManyParams) -> list[int]:
    now = to_epoch(params.now)
    query = {
        "outcomes": orjson.dumps([_outcome(o, now) for o in params.outcomes]).decode(),
        "only_expired": params.only_expired,
        "now": now,
    }
    measured = {o.id: o.usage for o in params.outcomes}
    with store.transaction() as tx:
        finished = tx.all("job_finish_many", query)
        _add_usage(tx, finished, measured, now, params.usage_window.total_seconds())
        usage_add(tx, [_with_run_time(row, now) for row in finished], measured, params.now)
        events.record(tx, [row["id"] for row in finished], now)
        graph.after_end(tx, _with_effects(finished, tx), params.now)
    return sorted(row["id"] for row in finished)


def _with_run_time(row: Row, now: float) -> dict[str, Any]:
    return dict(row) | {"run_seconds": max(0.0, now - (row["started_at"] or now))}


def _with_effects(finished: list[Row], tx: Tx) -> list[graph.Ended]:
    """The jobs that ended whose end changes more: they have children or a workflow."""
    return [
        graph.ended(row, tx.values)
        for row in finished
        if row["state"] in _ENDED and (row["has_children"] or row["workflow_id"] is not None)
    ]


def _add_usage(
    tx: Tx,
    finished: list[Row],
    measured: Mapping[int, b.AttemptUsage | None],
    now: float,
    window: float,
) -> None:
    """Add the finished attempts' run time, times the slots each held (fair share counts
    slot-seconds), to their tenants' decayed usage (tenants in name order)."""
    run_times: dict[str, list[float]] = defaultdict(list)
    for row in finished:
        usage = measured.get(row["id"])
        slots = usage.slots if usage is not None else 1
        run_times[row["tenant"]].append(max(0.0, now - (row["started_at"] or now)) * slots)
    totals = [
        [tenant, sum(seconds), sum(seconds) / len(seconds)]
        for tenant, seconds in sorted(run_times.items())
    ]
    if totals:
        query = {
            "usage": tx.values.array(totals),
            "window": window,
            "cost_weight": MEAN_COST_WEIGHT,
            "now": now,
        }
        tx.count("tenant_add_usage", query)


def _outcome(outcome: b.Outcome, now: float) -> list[Any]:
    """One element of job_finish_many's JSON array: [id, lease token, state, result JSON text,
    error JSON text, run_at, usage JSON text]."""
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
    usage = outcome.usage
    return [
        outcome.id,
        outcome.lease_token,
        outcome.state.value,
        outcome.result_json,
        error,
        None if outcome.run_at is None else to_epoch(outcome.run_at),
        None if usage is None else orjson.dumps(usage.stored(outcome.attempt)).decode(),
    ]
