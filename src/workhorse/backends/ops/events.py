"""Events: the outbox written with a job's transition, its destinations, the dispatcher's claims
and outcomes, the delivery log, and events received (triggers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from workhorse.backends import base as b
from workhorse.backends.store import Row, Store, Tx, Values
from workhorse.serialization import dumps
from workhorse.types import JSON


def record(tx: Tx, job_ids: Sequence[int], now: Any) -> None:
    """In the transaction that changed ``job_ids``: their events and deliveries, for the
    destinations that subscribe to them (none: nothing written). ``now`` as the database holds
    it."""
    if not job_ids:
        return
    events = tx.all("event_record", {"ids": tx.values.array(sorted(job_ids)), "now": now})
    _fan_out(tx, events, now)


def record_workflows(tx: Tx, workflow_ids: Sequence[int], now: Any) -> None:
    """In the transaction that settled ``workflow_ids`` (those still running are skipped): their
    events and deliveries, for the destinations that subscribe to them."""
    if not workflow_ids:
        return
    query = {"ids": tx.values.array(sorted(workflow_ids)), "now": now}
    _fan_out(tx, tx.all("workflow_event_record", query), now)


def _fan_out(tx: Tx, events: list[Row], now: Any) -> None:
    """One pending delivery per subscribed destination of each event just written."""
    if events:
        ids = tx.values.array(row["id"] for row in events)
        tx.count("event_fan_out", {"ids": ids, "now": now})


def event_list(store: Store, params: b.EventListParams) -> list[b.Event]:
    query = {"tenant": params.tenant, "after_id": params.after_id, "limit": params.limit}
    return [_event(row, store.values) for row in store.read("event_list", query)]


def destination_insert(store: Store, params: b.DestinationInsertParams) -> b.Destination:
    query = {
        "tenant": params.tenant,
        "kind": str(params.kind),
        "url": params.url,
        "options": dumps(params.options),
        "event_types": None if params.event_types is None else dumps(list(params.event_types)),
        "secrets": dumps(list(params.secrets)),
        "now": store.values.time(params.now),
    }
    return destination(store.write("destination_insert", query)[0], store.values)


def destination_list(store: Store, params: b.DestinationListParams) -> list[b.Destination]:
    kinds = [str(kind) for kind in params.kinds]
    query = {"tenant": params.tenant, "kinds": store.values.array(kinds) if kinds else None}
    return [destination(row, store.values) for row in store.read("destination_list", query)]


def destination_delete(store: Store, params: b.DestinationDeleteParams) -> bool:
    with store.transaction() as tx:
        return tx.count("destination_delete", {"id": params.id, "tenant": params.tenant}) > 0


def destination_update(store: Store, params: b.DestinationUpdateParams) -> b.Destination | None:
    query = {
        "id": params.id,
        "tenant": params.tenant,
        "enable": params.enable,
        "secrets": None if params.secrets is None else dumps(list(params.secrets)),
        "now": store.values.time(params.now),
    }
    found = store.write("destination_update", query)
    return destination(found[0], store.values) if found else None


def delivery_claim(store: Store, params: b.DeliveryClaimParams) -> list[b.ClaimedDelivery]:
    """Claims commit lazily (``delivery_lazy_commit``): one lost in a crash leaves its deliveries
    due, to be claimed again."""
    v = store.values
    query = {
        "now": v.time(params.now),
        "lease_until": v.time(params.now + params.lease),
        "limit": params.limit,
        "token": params.token,
    }
    with store.transaction() as tx:
        tx.all("delivery_lazy_commit")
        ids = [row["id"] for row in tx.all("delivery_claim", query)]
        if not ids:
            return []
        claimed = tx.all("delivery_claimed", {"ids": v.array(ids)})
    return [_claimed(row, v) for row in claimed]


def delivery_finish_many(store: Store, params: b.DeliveryFinishManyParams) -> list[int]:
    """The outcomes whose claim token still matches, in one statement; their attempts logged
    in another; destinations disabled where asked. Returns the ids written (the others were
    fenced off). Commits lazily: an outcome lost in a crash means a delivery sent again, which
    at-least-once delivery allows (receivers de-duplicate by event id)."""
    if not params.outcomes:
        return []
    v = store.values
    now = v.time(params.now)
    outcomes = dumps([_outcome(o, v) for o in params.outcomes])
    with store.transaction() as tx:
        tx.all("delivery_lazy_commit")
        written = tx.all("delivery_finish", {"outcomes": outcomes, "now": now})
        if not written:
            return []
        attempts = [
            {"id": r["id"], "status": r["last_status"], "error": r["last_error"]} for r in written
        ]
        tx.count("delivery_attempt_insert", {"attempts": dumps(attempts), "now": now})
        _disable(tx, written, params, now)
    return sorted(row["id"] for row in written)


def _outcome(outcome: b.DeliveryOutcome, v: Values) -> dict[str, Any]:
    """One element of delivery_finish's JSON array (times as the database holds them)."""
    next_at = v.opt_time(outcome.next_at)
    return {
        "id": outcome.id,
        "token": outcome.token,
        "delivered": outcome.delivered,
        "status": outcome.status,
        "error": outcome.error,
        "next_at": next_at.isoformat() if isinstance(next_at, datetime) else next_at,
    }


def _disable(tx: Tx, written: list[Row], params: b.DeliveryFinishManyParams, now: Any) -> None:
    """Disable the destinations of written outcomes that ask for it (rare: one statement each)."""
    reasons = {o.id: o.disable_reason for o in params.outcomes if o.disable_reason is not None}
    for row in written:
        if row["id"] in reasons:
            disable = {"id": row["destination_id"], "reason": reasons[row["id"]], "now": now}
            tx.count("destination_disable", disable)


def delivery_list(store: Store, params: b.DeliveryListParams) -> list[b.Delivery]:
    query = {
        "tenant": params.tenant,
        "destination_id": params.destination_id,
        "state": None if params.state is None else str(params.state),
        "before_id": params.before_id,
        "limit": params.limit,
    }
    return [delivery(row, store.values) for row in store.read("delivery_list", query)]


def delivery_redeliver(store: Store, params: b.DeliveryRedeliverParams) -> b.Delivery | None:
    query = {"id": params.id, "tenant": params.tenant, "now": store.values.time(params.now)}
    with store.transaction() as tx:
        if tx.one("delivery_redeliver", query) is None:
            return None
        row = tx.one("delivery_get", query)
    return None if row is None else delivery(row, store.values)


def delivery_attempt_list(
    store: Store, params: b.DeliveryAttemptListParams
) -> list[b.DeliveryAttempt]:
    v = store.values
    found = store.read("delivery_attempt_list", {"id": params.id, "tenant": params.tenant})
    return [
        b.DeliveryAttempt(at=v.at(r["at"]), status=r["status"], error=r["error"]) for r in found
    ]


def delivery_backlog(store: Store, params: b.DeliveryBacklogParams) -> list[b.BacklogCount]:
    v = store.values
    found = store.read("delivery_backlog", {"now": v.time(params.now)})
    return [
        b.BacklogCount(
            kind=b.DestinationKind(r["kind"]),
            pending=r["pending"],
            oldest_at=v.opt_at(r["oldest_at"]),
        )
        for r in found
    ]


def event_prune(store: Store, params: b.EventPruneParams) -> int:
    query = {"occurred_before": store.values.time(params.occurred_before), "limit": params.limit}
    with store.transaction() as tx:
        return tx.count("event_prune", query)


def event_receive(store: Store, params: b.EventReceiveParams) -> b.ReceivedEvent:
    key = {"tenant": params.tenant, "event_id": params.event_id}
    with store.transaction() as tx:
        first = {**key, "type": params.type, "now": store.values.time(params.now)}
        if tx.one("event_receive", first) is None:
            row = tx.one("event_received", key)
            ids = cast("list[int]", store.values.json(row["job_ids"])) if row else []
            return b.ReceivedEvent(
                created=False, jobs=[b.InsertedJob(id=i, created=False) for i in ids]
            )
        jobs = store.insert_in(tx, params.jobs, params.now)
        tx.count("event_receive_jobs", {**key, "job_ids": dumps([job.id for job in jobs])})
    return b.ReceivedEvent(created=True, jobs=jobs)


# -- rows ---------------------------------------------------------------------------------------


def destination(row: Row, v: Values) -> b.Destination:
    types = v.json(row["event_types"])
    return b.Destination(
        id=row["id"],
        tenant=row["tenant"],
        kind=b.DestinationKind(row["kind"]),
        url=row["url"],
        options=cast("dict[str, JSON]", v.json(row["options"])),
        event_types=None if types is None else tuple(cast("list[str]", types)),
        secrets=tuple(cast("list[str]", v.json(row["secrets"]))),
        disabled_at=v.opt_at(row["disabled_at"]),
        disabled_reason=row["disabled_reason"],
        created_at=v.at(row["created_at"]),
    )


def _event(row: Row, v: Values, id_column: str = "id") -> b.Event:
    return b.Event(
        id=row[id_column],
        tenant=row["tenant"],
        type=row["type"],
        job_id=row["job_id"],
        data=v.json(row["data"]),
        occurred_at=v.at(row["occurred_at"]),
    )


def _claimed(row: Row, v: Values) -> b.ClaimedDelivery:
    target = {**row, "id": row["destination_id"], "tenant": row["destination_tenant"]}
    return b.ClaimedDelivery(
        id=row["id"],
        attempt=row["attempts"],
        event=_event(row, v, id_column="event_id"),
        destination=destination(target, v),
    )


def delivery(row: Row, v: Values) -> b.Delivery:
    return b.Delivery(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        destination_id=row["destination_id"],
        tenant=row["tenant"],
        job_id=row["job_id"],
        state=b.DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_at=v.at(row["next_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        delivered_at=v.opt_at(row["delivered_at"]),
        created_at=v.at(row["created_at"]),
    )
