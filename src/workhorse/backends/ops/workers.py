"""The processes around the jobs: leader leases, the worker registry and periodic schedules."""

from __future__ import annotations

import json
from datetime import datetime

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.store import Store


def leader_elect(store: Store, params: b.LeaderElectParams) -> bool:
    query = {
        "name": params.name,
        "holder": params.holder,
        "expires_at": store.values.time(params.now + params.ttl),
        "now": store.values.time(params.now),
    }
    held = store.write("leader_elect", query)
    return bool(held) and held[0]["holder"] == params.holder


def leader_resign(store: Store, params: b.LeaderResignParams) -> None:
    store.write("leader_resign", {"name": params.name, "holder": params.holder})


def worker_heartbeat(store: Store, params: b.WorkerHeartbeatParams) -> None:
    query = {
        "id": params.id,
        "host": params.host,
        "pid": params.pid,
        "queues": json.dumps(list(params.queues)),
        "concurrency": params.concurrency,
        "started_at": store.values.time(params.started_at),
        "now": store.values.time(params.now),
    }
    store.write("worker_heartbeat", query)


def worker_list(store: Store, params: b.WorkerListParams) -> list[b.WorkerInfo]:
    found = store.read("worker_list", {"seen_after": store.values.opt_time(params.seen_after)})
    return [rows.worker(row, store.values) for row in found]


def worker_delete(store: Store, params: b.WorkerDeleteParams) -> int:
    query = {"id": params.id, "seen_before": store.values.opt_time(params.seen_before)}
    with store.transaction() as tx:
        return tx.count("worker_delete", query)


def periodic_list(store: Store, params: b.PeriodicListParams) -> dict[str, datetime]:
    return {row["name"]: store.values.at(row["last_slot"]) for row in store.read("periodic_list")}


def periodic_fire(store: Store, params: b.PeriodicFireParams) -> b.InsertedJob | None:
    query = {
        "name": params.name,
        "slot": store.values.time(params.slot),
        "now": store.values.time(params.now),
    }
    with store.transaction() as tx:
        if params.job is None:
            tx.count("periodic_init", query)
            return None
        if tx.count("periodic_fire", query) == 0:
            return None
        return store.insert_in(tx, [params.job], params.now)[0]
