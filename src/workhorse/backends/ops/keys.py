"""API keys and idempotency keys: the HTTP API's own records."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.store import Store
from workhorse.errors import DatabaseError


def api_key_insert(store: Store, params: b.ApiKeyInsertParams) -> b.ApiKey | None:
    query = {
        "prefix": params.prefix,
        "secret_hash": params.secret_hash,
        "tenant": params.tenant,
        "name": params.name,
        "now": store.values.time(params.now),
    }
    inserted = store.write("api_key_insert", query)
    return rows.api_key(inserted[0], store.values) if inserted else None


def api_key_get(store: Store, params: b.ApiKeyGetParams) -> b.ApiKey | None:
    found = store.read("api_key_get", {"prefix": params.prefix})
    return rows.api_key(found[0], store.values) if found else None


def api_key_list(store: Store, params: b.ApiKeyListParams) -> list[b.ApiKey]:
    found = store.read("api_key_list", {"include_revoked": params.include_revoked})
    return [rows.api_key(row, store.values) for row in found]


def api_key_revoke(store: Store, params: b.ApiKeyRevokeParams) -> b.ApiKey | None:
    query = {"id": params.id, "prefix": params.prefix, "now": store.values.time(params.now)}
    revoked = store.write("api_key_revoke", query)
    return rows.api_key(revoked[0], store.values) if revoked else None


def api_key_touch(store: Store, params: b.ApiKeyTouchParams) -> None:
    query = {
        "id": params.id,
        "now": store.values.time(params.now),
        "stale_before": store.values.time(params.stale_before),
    }
    store.write("api_key_touch", query)


def idempotency_insert(store: Store, params: b.IdempotencyInsertParams) -> b.IdempotencyRecord:
    v = store.values
    key = {"scope": params.scope, "key": params.key}
    claim = {
        **key,
        "request_hash": params.request_hash,
        "now": v.time(params.now),
        "expires_at": v.time(params.expires_at),
    }
    with store.transaction() as tx:
        if tx.one("idempotency_insert", claim) is None:
            row = tx.one("idempotency_get", key)
            if row is None:  # pragma: no cover - the conflicting row is committed and live
                raise DatabaseError(f"idempotency key {params.key!r} vanished mid-claim")
            return _replayed(row["request_hash"], v.elements(row["job_ids"]))
        inserted = store.insert_in(tx, params.jobs, params.now)
        tx.count("idempotency_set_jobs", {**key, "job_ids": v.array(j.id for j in inserted)})
    return b.IdempotencyRecord(request_hash=params.request_hash, jobs=inserted, replayed=False)


def _replayed(request_hash: str, ids: list[int]) -> b.IdempotencyRecord:
    jobs = [b.InsertedJob(id=job_id, created=False) for job_id in ids]
    return b.IdempotencyRecord(request_hash=request_hash, jobs=jobs, replayed=True)


def idempotency_prune(store: Store, params: b.IdempotencyPruneParams) -> int:
    query = {"now": store.values.time(params.now), "limit": params.limit}
    with store.transaction() as tx:
        return tx.count("idempotency_prune", query)
