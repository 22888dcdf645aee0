"""The worker's side of a job, beyond claiming and finishing (which each database does its own
way): polls, lease extensions, hand-backs, progress, expired leases and promotion."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.store import Store


def job_poll(store: Store, params: b.JobPollParams) -> bool:
    query = {
        "queues": store.values.array(params.queues),
        "include_queued": params.include_queued,
        "include_retrying": params.include_retrying,
    }
    return bool(store.read("job_poll", query)[0]["found"])


def job_heartbeat(store: Store, params: b.JobHeartbeatParams) -> list[int]:
    query = {
        "worker_id": params.worker_id,
        "ids": store.values.array(sorted(params.ids)),
        "lease_expires_at": store.values.time(params.now + params.lease_for),
        "now": store.values.time(params.now),
    }
    return sorted(row["id"] for row in store.write("job_heartbeat", query))


def job_release(store: Store, params: b.JobReleaseParams) -> list[int]:
    ids = list(params.ids)
    query = {
        "ids": store.values.array(ids),
        "tokens": store.values.array(params.lease_token_by_id.get(i) for i in ids),
        "now": store.values.time(params.now),
    }
    with store.transaction() as tx:
        released = tx.all("job_release", query)
        store.notify(tx, {row["queue"] for row in released})
    return sorted(row["id"] for row in released)


def job_progress(store: Store, params: b.JobProgressParams) -> None:
    ids = list(params.progress_json_by_id)
    query = {
        "ids": store.values.array(ids),
        "tokens": store.values.array(params.lease_token_by_id.get(i) for i in ids),
        "progress": store.values.array(params.progress_json_by_id[i] for i in ids),
        "now": store.values.time(params.now),
    }
    store.write("job_progress", query)


def job_list_expired(store: Store, params: b.JobListExpiredParams) -> list[b.ExpiredJob]:
    query = {"now": store.values.time(params.now), "limit": params.limit}
    return [rows.expired(row) for row in store.read("job_list_expired", query)]


def job_promote(store: Store, params: b.JobPromoteParams) -> int:
    query = {"now": store.values.time(params.now), "limit": params.limit}
    with store.transaction() as tx:
        promoted = tx.all("job_promote", query)
        store.notify(tx, {row["queue"] for row in promoted})
    return len(promoted)
