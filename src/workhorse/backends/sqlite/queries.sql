-- One named block per operation; names match the Backend Protocol.
-- Parameters are named; every time is a parameter (:now), never the database clock.
-- Lists arrive as JSON arrays and are unpacked with json_each so that each block stays static;
-- parallel arrays (PostgreSQL's unnest(a, b)) are json_each of each array, joined on the key (the
-- position).

-- name: schema_create_migrations
CREATE TABLE IF NOT EXISTS workhorse_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)

-- name: storage_vacuum
-- Dead rows do not linger in SQLite (no MVCC); refresh the planner's statistics.
PRAGMA optimize

-- name: schema_has_migrations
SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'workhorse_migrations') AS present

-- name: schema_versions
SELECT version FROM workhorse_migrations ORDER BY version

-- name: schema_record_migration
INSERT INTO workhorse_migrations (version, name, applied_at) VALUES (:version, :name, :now)

-- name: job_insert
INSERT INTO workhorse_jobs (
    tenant, queue, task, args, kwargs, state, priority, max_attempts, timeout, unique_key,
    concurrency_key, concurrency_limit, created_at, run_at, updated_at, trace_context,
    isolation, memory_limit
) VALUES (
    :tenant, :queue, :task, :args, :kwargs, :state, :priority, :max_attempts, :timeout,
    :unique_key, :concurrency_key, :concurrency_limit, :now, :run_at, :now, :trace_context,
    :isolation, :memory_limit
)
ON CONFLICT DO NOTHING
RETURNING id

-- name: job_find_live_unique
SELECT id FROM workhorse_jobs
WHERE tenant = :tenant AND unique_key = :unique_key
  AND state NOT IN ('succeeded', 'dead', 'cancelled')

-- name: claim_mark_running
UPDATE workhorse_jobs
SET state = 'running', attempts = attempts + 1, lease_token = :lease_token,
    worker_id = :worker_id, lease_expires_at = :lease_expires_at, started_at = :now,
    updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'queued'
RETURNING id, tenant, queue, task, args, kwargs, attempts, max_attempts, timeout, priority, run_at,
          trace_context, isolation, memory_limit

-- name: job_poll
SELECT EXISTS (
    SELECT 1 FROM json_each(:queues) AS q
    WHERE (:include_queued AND EXISTS (
              SELECT 1 FROM workhorse_jobs WHERE state = 'queued' AND queue = q.value))
       OR (:include_retrying AND EXISTS (
              SELECT 1 FROM workhorse_jobs WHERE state = 'retrying' AND queue = q.value))
) AS found

-- name: job_finish_many
-- Outcomes whose lease token still matches, all in one statement: :outcomes is a JSON array of
-- [id, lease token, state, result JSON text, error JSON text, run_at, usage JSON text].
UPDATE workhorse_jobs AS j
SET state = o.state,
    result = o.result,
    errors = CASE WHEN o.error IS NULL THEN j.errors
                  ELSE json_insert(j.errors, '$[#]', json(o.error)) END,
    usage = CASE WHEN o.usage IS NULL THEN j.usage
                 ELSE json_insert(j.usage, '$[#]', json(o.usage)) END,
    run_at = COALESCE(o.run_at, j.run_at),
    finished_at = CASE WHEN o.state = 'retrying' THEN NULL ELSE :now END,
    lease_token = NULL,
    lease_expires_at = NULL,
    updated_at = :now
FROM (
    SELECT value ->> 0 AS id, value ->> 1 AS token, value ->> 2 AS state,
           value ->> 3 AS result, value ->> 4 AS error, value ->> 5 AS run_at,
           value ->> 6 AS usage
    FROM json_each(:outcomes)
) AS o
WHERE j.id = o.id AND j.state = 'running' AND j.lease_token = o.token
  AND (:only_expired = 0 OR j.lease_expires_at < :now)
RETURNING id, tenant, task, queue, state, started_at, has_children, workflow_id

-- name: job_heartbeat
-- Only the jobs the worker names (see the PostgreSQL block).
UPDATE workhorse_jobs
SET lease_expires_at = :lease_expires_at, updated_at = :now
WHERE state = 'running' AND worker_id = :worker_id AND id IN (SELECT value FROM json_each(:ids))
RETURNING id

-- name: job_release
UPDATE workhorse_jobs AS j
SET state = 'queued', attempts = j.attempts - 1, lease_token = NULL, lease_expires_at = NULL,
    started_at = NULL, updated_at = :now
FROM (
    SELECT i.value AS id, t.value AS token
    FROM json_each(:ids) AS i JOIN json_each(:tokens) AS t ON t.key = i.key
) AS r
WHERE j.id = r.id AND j.state = 'running' AND j.lease_token = r.token
RETURNING id, queue

-- name: job_list_expired
SELECT id, task, attempts, max_attempts, lease_token, worker_id FROM workhorse_jobs
WHERE state = 'running' AND lease_expires_at < :now
ORDER BY lease_expires_at
LIMIT :limit

-- name: job_promote
UPDATE workhorse_jobs
SET state = 'queued', updated_at = :now
WHERE id IN (
    SELECT id FROM workhorse_jobs
    WHERE state IN ('scheduled', 'retrying') AND run_at <= :now
    ORDER BY run_at
    LIMIT :limit
)
RETURNING queue

-- name: job_get
SELECT * FROM workhorse_jobs
WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant)

-- name: job_list
SELECT * FROM workhorse_jobs
WHERE (:tenant IS NULL OR tenant = :tenant)
  AND (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
  AND (:queue IS NULL OR queue = :queue)
  AND (:task IS NULL OR task = :task)
  AND (:before_id IS NULL OR id < :before_id)
ORDER BY id DESC
LIMIT :limit

-- name: job_cancel
UPDATE workhorse_jobs
SET state = 'cancelled', finished_at = :now, lease_token = NULL, lease_expires_at = NULL,
    updated_at = :now
WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant)
  AND state NOT IN ('succeeded', 'dead', 'cancelled')

-- name: job_retry
UPDATE workhorse_jobs
SET state = 'queued', attempts = 0, run_at = :now, result = NULL, finished_at = NULL,
    started_at = NULL, updated_at = :now
WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant) AND state = 'dead'

-- name: job_progress
UPDATE workhorse_jobs AS j
SET progress = p.progress, updated_at = :now
FROM (
    SELECT i.value AS id, t.value AS token, v.value AS progress
    FROM json_each(:ids) AS i
    JOIN json_each(:tokens) AS t ON t.key = i.key
    JOIN json_each(:progress) AS v ON v.key = i.key
) AS p
WHERE j.id = p.id AND j.state = 'running' AND j.lease_token = p.token

-- name: job_count
SELECT tenant, queue, state, count(*) AS count FROM workhorse_jobs
WHERE (:tenant IS NULL OR tenant = :tenant)
GROUP BY tenant, queue, state

-- name: job_prune
DELETE FROM workhorse_jobs
WHERE id IN (
    SELECT id FROM workhorse_jobs
    WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at < :finished_before
    LIMIT :limit
)
RETURNING id

-- name: job_edges_prune
-- The dependency edges of the jobs just pruned, as parent or as child (through the primary key
-- and workhorse_job_edges_child).
DELETE FROM workhorse_job_edges
WHERE parent IN (SELECT value FROM json_each(:ids))
   OR child IN (SELECT value FROM json_each(:ids))

-- name: workflow_prune
-- Ended workflows past retention, through workhorse_workflows_finished. Their steps ended no
-- later than they did, so job retention takes those too.
DELETE FROM workhorse_workflows
WHERE id IN (
    SELECT id FROM workhorse_workflows
    WHERE finished_at < :finished_before AND state <> 'running'
    LIMIT :limit
)

-- name: leader_elect
INSERT INTO workhorse_leaders (name, holder, expires_at) VALUES (:name, :holder, :expires_at)
ON CONFLICT (name) DO UPDATE
SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE workhorse_leaders.holder = excluded.holder OR workhorse_leaders.expires_at < :now
RETURNING holder

-- name: leader_resign
DELETE FROM workhorse_leaders WHERE name = :name AND holder = :holder

-- name: worker_heartbeat
INSERT INTO workhorse_workers (id, host, pid, queues, concurrency, started_at, last_seen_at)
VALUES (:id, :host, :pid, :queues, :concurrency, :started_at, :now)
ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at

-- name: worker_list
SELECT * FROM workhorse_workers
WHERE (:seen_after IS NULL OR last_seen_at > :seen_after)
ORDER BY started_at, id

-- name: worker_delete
DELETE FROM workhorse_workers
WHERE (:id IS NOT NULL AND id = :id)
   OR (:seen_before IS NOT NULL AND last_seen_at < :seen_before)

-- name: periodic_list
SELECT name, last_slot FROM workhorse_periodic

-- name: periodic_init
INSERT INTO workhorse_periodic (name, last_slot, updated_at) VALUES (:name, :slot, :now)
ON CONFLICT (name) DO NOTHING

-- name: periodic_fire
UPDATE workhorse_periodic SET last_slot = :slot, updated_at = :now
WHERE name = :name AND last_slot < :slot

-- name: claim_places
-- The front of the fair order in one queue, from a place on (`after_*`): the places not held and
-- those whose hold has ended, best first (two ranges of workhorse_places, whatever the number of
-- tenants), with their tenants' settings.
SELECT f.queue, f.tenant AS name, f.place, f.arrivals, f.held, tn.weight, tn.max_running, tn.rate,
       tn.burst, tn.paused, tn.usage, tn.usage_at, tn.mean_cost, tn.tokens, tn.tokens_at
FROM (
    SELECT * FROM (
        SELECT queue, tenant, place, arrivals, 0 AS held FROM workhorse_places
        WHERE queue = :queue AND held_until IS NULL
          AND (place, tenant) >= (:after_place, :after_tenant)
        ORDER BY place, tenant
        LIMIT :front
    )
    UNION ALL
    SELECT * FROM (
        SELECT queue, tenant, place, arrivals, 1 AS held FROM workhorse_places
        WHERE queue = :queue AND held_until <= :now
          AND (place, tenant) >= (:after_place, :after_tenant)
        ORDER BY held_until
        LIMIT :front
    )
) AS f
LEFT JOIN workhorse_tenants AS tn ON tn.name = f.tenant

-- fragment: claim_places_drop
-- :places is a JSON array of [queue, tenant].
DELETE FROM workhorse_places
WHERE (queue, tenant) IN (SELECT value ->> 0, value ->> 1 FROM json_each(:places))
  AND NOT EXISTS (SELECT 1 FROM workhorse_jobs AS j
                  WHERE j.state = 'queued' AND j.queue = workhorse_places.queue
                    AND j.tenant = workhorse_places.tenant)

-- name: claim_places_settle_drop
-- Places of tenants this claim served (or gave fewer jobs than slots), if their queue holds no
-- queued job of the tenant any more.
-- include: claim_places_drop

-- name: claim_places_recheck
-- The same, for places a settle skipped: with one writer, none is (see SQLiteClaims).
-- include: claim_places_drop

-- name: claim_places_settle_set
-- The places a claim read: their new positions and holds (a removed one matches nothing).
-- :places is a JSON array of [queue, tenant, place, held_until].
UPDATE workhorse_places
SET place = s.place, held_until = s.held_until
FROM (SELECT value ->> 0 AS queue, value ->> 1 AS tenant, value ->> 2 AS place,
             value ->> 3 AS held_until
      FROM json_each(:places)) AS s
WHERE workhorse_places.queue = s.queue AND workhorse_places.tenant = s.tenant

-- name: claim_lock_tenants
-- The write lock already excludes other claimers: the rows as they stand.
SELECT * FROM workhorse_tenants WHERE name IN (SELECT value FROM json_each(:names))

-- name: claim_running
SELECT tenant, count(*) AS count, total(max(0, :now - started_at)) AS elapsed
FROM workhorse_jobs INDEXED BY workhorse_jobs_running
WHERE state = 'running' AND tenant IN (SELECT value FROM json_each(:names))
GROUP BY tenant

-- name: claim_take_candidates
-- The candidate windows of the tenants in :tenants (a JSON array of names) in :queue, one
-- statement for them all: each tenant's best :limit queued jobs, without the jobs of its blocked
-- keys (:blocked, a JSON array of [tenant, key]) and the ids in :exclude. Each window is read
-- through workhorse_jobs_claim, so the cost follows the tenants named, not the backlog. (SQLite
-- has no LATERAL: the window is a correlated IN, and its rows come back in no particular order.)
SELECT j.id, j.tenant, j.priority, j.run_at, j.concurrency_key, j.concurrency_limit
FROM json_each(:tenants) AS t
JOIN workhorse_jobs AS j ON j.id IN (
    SELECT w.id FROM workhorse_jobs AS w
    WHERE w.state = 'queued' AND w.tenant = t.value AND w.queue = :queue
      AND w.id NOT IN (SELECT value FROM json_each(:exclude))
      AND (w.concurrency_key IS NULL
           OR NOT EXISTS (SELECT 1 FROM json_each(:blocked) AS b
                          WHERE b.value ->> 0 = w.tenant AND b.value ->> 1 = w.concurrency_key))
    ORDER BY w.priority DESC, w.run_at, w.id
    LIMIT :limit
)

-- name: claim_blocked_keys
-- Keys already at their limit: their queued jobs are skipped, so they cannot starve the rest.
SELECT tenant, concurrency_key AS key FROM workhorse_jobs INDEXED BY workhorse_jobs_running
WHERE state = 'running' AND tenant IN (SELECT value FROM json_each(:names))
  AND concurrency_key IS NOT NULL
GROUP BY tenant, concurrency_key
HAVING count(*) >= max(concurrency_limit)

-- name: claim_running_by_key
SELECT count(*) AS count FROM workhorse_jobs
WHERE state = 'running' AND tenant = :tenant AND concurrency_key = :key

-- name: claim_spend_tokens
-- tokens_at never moves back: a claim whose clock reading is older than the last one's must not
-- make the next claim refill the same interval twice.
UPDATE workhorse_tenants SET tokens = :tokens, tokens_at = max(coalesce(tokens_at, :now), :now)
WHERE name = :name

-- name: tenant_add_usage
-- Decayed usage: usage * e^(-elapsed / window) + the new run time; mean cost as a moving average
-- that moves cost_weight of the way to the batch's mean (workhorse.fairness owns both). :usage is
-- a JSON array of [name, seconds, mean], one per tenant, in name order. (`WHERE true`: an upsert
-- whose rows come from a SELECT needs a WHERE clause to be parsed as one.)
INSERT INTO workhorse_tenants (name, usage, usage_at, mean_cost, created_at, updated_at)
SELECT value ->> 0, value ->> 1, :now, value ->> 2, :now, :now FROM json_each(:usage) WHERE true
ON CONFLICT (name) DO UPDATE SET
    usage = workhorse_tenants.usage
            * exp(-max(0, :now - workhorse_tenants.usage_at) / :window) + excluded.usage,
    usage_at = excluded.usage_at,
    mean_cost = CASE WHEN workhorse_tenants.mean_cost IS NULL THEN excluded.mean_cost
                     ELSE (1 - :cost_weight) * workhorse_tenants.mean_cost
                          + :cost_weight * excluded.mean_cost END

-- name: tenant_upsert
INSERT INTO workhorse_tenants (
    name, weight, max_running, max_queued, rate, burst, paused, usage_at, created_at, updated_at
) VALUES (
    :name, :weight, :max_running, :max_queued, :rate, :burst, :paused, :now, :now, :now
)
ON CONFLICT (name) DO UPDATE SET
    weight = excluded.weight, max_running = excluded.max_running,
    max_queued = excluded.max_queued, rate = excluded.rate, burst = excluded.burst,
    paused = excluded.paused, updated_at = excluded.updated_at,
    -- a changed rate starts from a full bucket
    tokens = CASE WHEN workhorse_tenants.rate IS excluded.rate
                   AND workhorse_tenants.burst IS excluded.burst
                  THEN workhorse_tenants.tokens END,
    tokens_at = CASE WHEN workhorse_tenants.rate IS excluded.rate
                      AND workhorse_tenants.burst IS excluded.burst
                     THEN workhorse_tenants.tokens_at END
RETURNING *

-- name: tenant_get
SELECT * FROM workhorse_tenants WHERE name = :name

-- name: tenant_list
SELECT * FROM workhorse_tenants ORDER BY name

-- name: tenant_lock_quota
-- Enqueue checks max_queued in its write transaction, which no other enqueuer can enter.
SELECT name, max_queued FROM workhorse_tenants
WHERE name IN (SELECT value FROM json_each(:names)) AND max_queued IS NOT NULL

-- name: tenant_waiting
SELECT count(*) AS count FROM workhorse_jobs
WHERE tenant = :tenant AND state IN ('scheduled', 'queued', 'retrying')

-- name: tenant_stats
-- Per tenant: running, waiting, started in the last minute. Bounded by the tenants' live jobs.
SELECT tenant,
       total(state = 'running') AS running,
       total(state IN ('scheduled', 'queued', 'retrying')) AS waiting,
       total(started_at >= :since) AS started
FROM (
    SELECT tenant, state, started_at FROM workhorse_jobs
    WHERE state IN ('scheduled', 'queued', 'retrying', 'running')
    UNION ALL
    -- a job that started in the last minute and has ended, ended in the last minute too
    SELECT tenant, state, started_at FROM workhorse_jobs
    WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at >= :since
      AND started_at >= :since
)
GROUP BY tenant

-- API keys, idempotency keys and redrive (the HTTP API's operations) -------------------------

-- name: api_key_insert
INSERT INTO workhorse_api_keys (prefix, secret_hash, tenant, name, created_at)
VALUES (:prefix, :secret_hash, :tenant, :name, :now)
ON CONFLICT (prefix) DO NOTHING
RETURNING *

-- name: api_key_get
SELECT * FROM workhorse_api_keys WHERE prefix = :prefix

-- name: api_key_list
SELECT * FROM workhorse_api_keys
WHERE :include_revoked OR revoked_at IS NULL
ORDER BY id

-- name: api_key_revoke
UPDATE workhorse_api_keys SET revoked_at = COALESCE(revoked_at, :now)
WHERE (:id IS NOT NULL AND id = :id) OR (:prefix IS NOT NULL AND prefix = :prefix)
RETURNING *

-- name: api_key_touch
UPDATE workhorse_api_keys SET last_used_at = :now
WHERE id = :id AND (last_used_at IS NULL OR last_used_at < :stale_before)

-- name: idempotency_insert
-- Take the key when it is free or its record has expired; no row back: a live record holds it.
INSERT INTO workhorse_idempotency (scope, key, request_hash, job_ids, created_at, expires_at)
VALUES (:scope, :key, :request_hash, '[]', :now, :expires_at)
ON CONFLICT (scope, key) DO UPDATE
SET request_hash = excluded.request_hash, job_ids = '[]', created_at = excluded.created_at,
    expires_at = excluded.expires_at
WHERE workhorse_idempotency.expires_at <= :now
RETURNING key

-- name: idempotency_get
SELECT request_hash, job_ids FROM workhorse_idempotency WHERE scope = :scope AND key = :key

-- name: idempotency_set_jobs
UPDATE workhorse_idempotency SET job_ids = :job_ids WHERE scope = :scope AND key = :key

-- name: idempotency_prune
DELETE FROM workhorse_idempotency
WHERE rowid IN (SELECT rowid FROM workhorse_idempotency WHERE expires_at < :now LIMIT :limit)

-- fragment: job_redrive_filter
AND (:tenant IS NULL OR tenant = :tenant)
AND (:queue IS NULL OR queue = :queue)
AND (:task IS NULL OR task = :task)
AND (:error_type IS NULL OR json_extract(errors, '$[#-1].type') = :error_type)
AND (:finished_after IS NULL OR finished_at >= :finished_after)
AND (:finished_before IS NULL OR finished_at < :finished_before)
AND (:action <> 'retry' OR unique_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM workhorse_jobs AS o
    WHERE o.tenant = j.tenant AND o.unique_key = j.unique_key AND o.id <> j.id
      AND (o.state NOT IN ('succeeded', 'dead', 'cancelled') OR (o.state = 'dead' AND o.id > j.id))
))

-- name: job_redrive
-- The dead jobs a redrive changes, oldest first. A retry leaves out a job whose unique key a live
-- job or a newer dead job holds: requeueing it would break the unique index.
SELECT id FROM workhorse_jobs AS j
WHERE state = 'dead'
  -- include: job_redrive_filter
ORDER BY id
LIMIT :limit

-- name: job_redrive_count
-- The dry run: job_redrive's filter, counted without a limit.
SELECT count(*) AS count FROM workhorse_jobs AS j
WHERE state = 'dead'
  -- include: job_redrive_filter

-- name: job_redrive_retry
UPDATE workhorse_jobs
SET state = 'queued', attempts = 0, run_at = :now, result = NULL, finished_at = NULL,
    started_at = NULL, updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'dead'
RETURNING id, queue, state, has_children, workflow_id

-- name: job_redrive_cancel
-- finished_at stays when the job died: retention and the finished-time filters keep their meaning.
UPDATE workhorse_jobs SET state = 'cancelled', updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'dead'
RETURNING id, queue

-- Dashboard reads -----------------------------------------------------------------------------

-- name: job_stats
-- Jobs that finished in [since, until), per bucket: counts by end state and nearest-rank wait
-- percentiles (rank ceil(p * n) among the bucket's n waits, in integer arithmetic). INDEXED BY
-- keeps the read a range scan of the window: with a tenant filter the planner would otherwise
-- walk the tenant's whole history through workhorse_jobs_tenant.
WITH finished AS (
    SELECT CAST((finished_at - :since) / :bucket AS INTEGER) AS bucket, state,
           CASE WHEN started_at IS NOT NULL THEN max(0, started_at - run_at) END AS wait
    FROM workhorse_jobs INDEXED BY workhorse_jobs_finished
    WHERE state IN ('succeeded', 'dead', 'cancelled')
      AND finished_at >= :since AND finished_at < :until
      AND (:tenant IS NULL OR tenant = :tenant)
), ranked AS (
    SELECT bucket, state, wait,
           row_number() OVER (PARTITION BY bucket ORDER BY wait IS NULL, wait) AS rank,
           count(wait) OVER (PARTITION BY bucket) AS waits
    FROM finished
)
SELECT bucket,
       total(state = 'succeeded') AS succeeded,
       total(state = 'dead') AS dead,
       total(state = 'cancelled') AS cancelled,
       max(CASE WHEN rank = (waits + 1) / 2 THEN wait END) AS wait_p50,
       max(CASE WHEN rank = (waits * 95 + 99) / 100 THEN wait END) AS wait_p95
FROM ranked
GROUP BY bucket
ORDER BY bucket

-- name: job_count_by_worker
SELECT worker_id, count(*) AS running FROM workhorse_jobs INDEXED BY workhorse_jobs_worker
WHERE state = 'running' AND worker_id IS NOT NULL
GROUP BY worker_id

-- name: job_discard
-- finished_at stays when the job died, as job_redrive_cancel keeps it.
UPDATE workhorse_jobs SET state = 'cancelled', updated_at = :now
WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant) AND state = 'dead'

-- Metrics ------------------------------------------------------------------------------------

-- name: metrics_snapshot
-- The gauges' one read per interval: the live jobs and the jobs that ended in the window, grouped
-- by (tenant, queue, state); never the history. Each live state is its own branch so that each
-- reads its partial index (queued, running, and scheduled or retrying), where
-- `state IN (all four)` would scan the whole table; the ended jobs are a range of
-- workhorse_jobs_finished. A job created in the window is live now or ended in it, so `created`
-- counts every arrival.
SELECT tenant, queue, state, count(*) AS count,
       total(created_at >= :since) AS created,
       total(state IN ('scheduled', 'retrying') AND run_at <= :now) AS due,
       count(started_at) AS runs,
       total(max(0, finished_at - started_at)) AS run_seconds
FROM (
    SELECT tenant, queue, state, created_at, run_at, NULL AS started_at, NULL AS finished_at
    FROM workhorse_jobs WHERE state = 'queued'
    UNION ALL
    SELECT tenant, queue, state, created_at, run_at, NULL, NULL
    FROM workhorse_jobs WHERE state = 'running'
    UNION ALL
    SELECT tenant, queue, state, created_at, run_at, NULL, NULL
    FROM workhorse_jobs WHERE state IN ('scheduled', 'retrying')
    UNION ALL
    SELECT tenant, queue, state, created_at, run_at, NULL, NULL
    FROM workhorse_jobs WHERE state = 'blocked'
    UNION ALL
    SELECT tenant, queue, state, created_at, run_at,
           CASE WHEN state IN ('succeeded', 'dead') THEN started_at END, finished_at
    FROM workhorse_jobs INDEXED BY workhorse_jobs_finished
    WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at >= :since
)
GROUP BY tenant, queue, state

-- name: metrics_snapshot_workers
SELECT count(*) AS workers, coalesce(sum(concurrency), 0) AS slots FROM workhorse_workers
WHERE last_seen_at > :seen_after

-- name: metrics_snapshot_workflows
-- Workflows running now (through workhorse_workflows_running), and those that ended in the window
-- by end state (a range of workhorse_workflows_finished); never the history.
SELECT 'running' AS state, count(*) AS count FROM workhorse_workflows WHERE state = 'running'
UNION ALL
SELECT state, count(*) FROM workhorse_workflows
WHERE finished_at IS NOT NULL AND finished_at >= :since
GROUP BY state

-- name: usage_add
-- A batch of finished attempts added to the roll-up (see workhorse.backends.ops.usage): :rows is a
-- JSON array of [tenant, task, queue, jobs, attempts, wall, cpu, slot seconds], one per row, in
-- key order.
INSERT INTO workhorse_usage (
    tenant, hour, task, queue, jobs, attempts, wall_seconds, cpu_seconds, slot_seconds
)
SELECT value ->> 0, :hour, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
       value ->> 6, value ->> 7
FROM json_each(:rows) WHERE true
ON CONFLICT (tenant, hour, task, queue) DO UPDATE SET
    jobs = workhorse_usage.jobs + excluded.jobs,
    attempts = workhorse_usage.attempts + excluded.attempts,
    wall_seconds = workhorse_usage.wall_seconds + excluded.wall_seconds,
    cpu_seconds = workhorse_usage.cpu_seconds + excluded.cpu_seconds,
    slot_seconds = workhorse_usage.slot_seconds + excluded.slot_seconds

-- name: usage_list
SELECT tenant, hour, task, queue, jobs, attempts, wall_seconds, cpu_seconds, slot_seconds
FROM workhorse_usage
WHERE hour >= :since AND hour < :until AND (:tenant IS NULL OR tenant = :tenant)
ORDER BY hour, tenant, task, queue
-- Dependencies and workflows ------------------------------------------------------------------

-- name: job_release_dependents
-- The dependents of the jobs that just ended, :ended a JSON array of {id, state} (each with
-- children), in one statement. `doomed`: the blocked children of a failed job that do not run on
-- parent failure, and theirs down the graph, each with the failed job at the root of its
-- cancellation (a DAG: the recursion ends). `freed`: per child, the parents that no longer hold
-- it back (succeeded, or failed when it runs anyway). One UPDATE applies both.
WITH RECURSIVE ended(id, state) AS (
    SELECT value ->> 'id', value ->> 'state' FROM json_each(:ended)
), doomed(id, root) AS (
    SELECT e.child, f.id
    FROM ended AS f
    JOIN workhorse_job_edges AS e ON e.parent = f.id
    JOIN workhorse_jobs AS c ON c.id = e.child
    WHERE f.state <> 'succeeded' AND c.state = 'blocked' AND NOT c.run_on_parent_failure
    UNION
    SELECT e.child, d.root
    FROM doomed AS d
    JOIN workhorse_job_edges AS e ON e.parent = d.id
    JOIN workhorse_jobs AS c ON c.id = e.child
    WHERE c.state = 'blocked' AND NOT c.run_on_parent_failure
), doomed_once AS (
    SELECT id, min(root) AS root FROM doomed GROUP BY id
), freed AS (
    SELECT e.child AS id, count(*) AS n
    FROM (SELECT id, state FROM ended UNION ALL SELECT id, 'cancelled' FROM doomed_once) AS p
    JOIN workhorse_job_edges AS e ON e.parent = p.id
    JOIN workhorse_jobs AS c ON c.id = e.child
    WHERE p.state = 'succeeded' OR c.run_on_parent_failure
    GROUP BY e.child
), touched AS (
    SELECT id FROM freed UNION SELECT id FROM doomed_once
)
UPDATE workhorse_jobs AS c
SET pending_parents = c.pending_parents - coalesce(x.n, 0),
    state = CASE WHEN x.root IS NOT NULL THEN 'cancelled'
                 WHEN c.pending_parents - coalesce(x.n, 0) <= 0 THEN 'queued'
                 ELSE 'blocked' END,
    cancelled_by = x.root,
    finished_at = CASE WHEN x.root IS NOT NULL THEN :now END,
    run_at = CASE WHEN x.root IS NULL AND c.pending_parents - coalesce(x.n, 0) <= 0
                  THEN max(c.run_at, :now) ELSE c.run_at END,
    updated_at = :now
FROM (
    SELECT t.id, f.n, d.root FROM touched AS t
    LEFT JOIN freed AS f ON f.id = t.id
    LEFT JOIN doomed_once AS d ON d.id = t.id
) AS x
WHERE c.id = x.id AND c.state = 'blocked'
RETURNING id, state, workflow_id, 0 AS signals

-- name: workflow_settle_steps
-- Workflows of the steps that ended, :steps a JSON array of {workflow_id, state}: their counts
-- move, and the one whose last step ended settles (some step dead: failed; else some cancelled:
-- cancelled; else succeeded).
WITH ended_steps(workflow_id, state) AS (
    SELECT value ->> 'workflow_id', value ->> 'state' FROM json_each(:steps)
)
UPDATE workhorse_workflows AS w
SET steps_left = w.steps_left - s.n,
    steps_dead = w.steps_dead + s.dead,
    steps_cancelled = w.steps_cancelled + s.cancelled,
    state = CASE WHEN w.steps_left - s.n > 0 THEN 'running'
                 WHEN w.steps_dead + s.dead > 0 THEN 'failed'
                 WHEN w.steps_cancelled + s.cancelled > 0 THEN 'cancelled'
                 ELSE 'succeeded' END,
    finished_at = CASE WHEN w.steps_left - s.n > 0 THEN NULL ELSE :now END,
    updated_at = :now
FROM (
    SELECT workflow_id, count(*) AS n, sum(state = 'dead') AS dead,
           sum(state = 'cancelled') AS cancelled
    FROM ended_steps GROUP BY workflow_id
) AS s
WHERE w.id = s.workflow_id
RETURNING id, state

-- name: job_notify_ended
-- Waiters on SQLite watch the database's data_version, which every commit changes: nothing to send.
SELECT 0 AS signals WHERE :ids IS NULL

-- name: job_ended
-- Of :ids, those that have ended.
SELECT id FROM workhorse_jobs
WHERE id IN (SELECT value FROM json_each(:ids)) AND state IN ('succeeded', 'dead', 'cancelled')

-- name: job_reopen_dependents
-- Children cancelled because of a job in :roots, none of whose parents is dead or cancelled now:
-- blocked again, waiting for the parents that have not succeeded. Run until it returns nothing:
-- each round re-opens one more level of the graph.
UPDATE workhorse_jobs AS c
SET state = 'blocked', cancelled_by = NULL, finished_at = NULL, updated_at = :now,
    pending_parents = (
        SELECT count(*) FROM workhorse_job_edges AS e
        JOIN workhorse_jobs AS p ON p.id = e.parent
        WHERE e.child = c.id AND p.state <> 'succeeded')
WHERE c.cancelled_by IN (SELECT value FROM json_each(:roots)) AND c.state = 'cancelled'
  AND NOT EXISTS (
      SELECT 1 FROM workhorse_job_edges AS e
      JOIN workhorse_jobs AS p ON p.id = e.parent
      WHERE e.child = c.id AND p.state IN ('dead', 'cancelled'))
RETURNING id, workflow_id

-- name: workflow_reopen
-- A failed step retried by hand and the steps that re-opened with it: the workflow runs again.
-- :steps is a JSON array of {workflow_id, dead, cancelled}.
UPDATE workhorse_workflows AS w
SET steps_left = w.steps_left + s.dead + s.cancelled,
    steps_dead = w.steps_dead - s.dead,
    steps_cancelled = w.steps_cancelled - s.cancelled,
    state = 'running', finished_at = NULL, updated_at = :now
FROM (
    SELECT value ->> 'workflow_id' AS workflow_id, sum(value ->> 'dead') AS dead,
           sum(value ->> 'cancelled') AS cancelled
    FROM json_each(:steps) GROUP BY 1
) AS s
WHERE w.id = s.workflow_id

-- name: job_edges_insert
-- :edges is a JSON array of [parent, child].
INSERT INTO workhorse_job_edges (parent, child)
SELECT value ->> 0, value ->> 1 FROM json_each(:edges) WHERE true
ON CONFLICT DO NOTHING

-- name: job_mark_parents
-- The parents of new children: flagged (so their finish looks for dependents) and returned with
-- their state (the write lock orders this against any finish).
-- The parents named by children of :tenant: another tenant's job is not matched.
UPDATE workhorse_jobs SET has_children = 1
WHERE id IN (SELECT value FROM json_each(:ids)) AND tenant = :tenant
RETURNING id, tenant, state, cancelled_by

-- name: job_link
-- New jobs' place in the graph: :jobs is a JSON array of {id, state, pending, cancelled_by,
-- run_on_parent_failure, workflow_id, step_key, finished}.
UPDATE workhorse_jobs AS j
SET state = l.value ->> 'state', pending_parents = l.value ->> 'pending',
    cancelled_by = l.value ->> 'cancelled_by',
    run_on_parent_failure = l.value ->> 'run_on_parent_failure',
    workflow_id = l.value ->> 'workflow_id', step_key = l.value ->> 'step_key',
    finished_at = CASE WHEN l.value ->> 'finished' THEN :now END
FROM json_each(:jobs) AS l
WHERE j.id = l.value ->> 'id'

-- name: job_parent_results
-- In the order of workhorse_job_edges_child (child, parent): no sort, even for a fan-in over
-- thousands of parents.
SELECT p.id, p.step_key, p.result FROM workhorse_job_edges AS e
JOIN workhorse_jobs AS p ON p.id = e.parent
WHERE e.child = :id
ORDER BY e.parent

-- name: job_has_ancestor
-- Whether :ancestor is :id's parent, or a parent's, up the graph.
WITH RECURSIVE up(id) AS (
    SELECT parent FROM workhorse_job_edges WHERE child = :id
    UNION
    SELECT e.parent FROM up JOIN workhorse_job_edges AS e ON e.child = up.id
)
SELECT EXISTS (SELECT 1 FROM up WHERE id = :ancestor) AS found

-- name: workflow_insert
INSERT INTO workhorse_workflows (tenant, name, state, steps, steps_left, created_at, updated_at)
VALUES (:tenant, :name, 'running', :steps, :steps, :now, :now)
RETURNING id

-- name: workflow_get
SELECT * FROM workhorse_workflows WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant)

-- name: workflow_steps
SELECT * FROM workhorse_jobs WHERE workflow_id = :id ORDER BY id

-- name: workflow_edges
SELECT e.parent, e.child FROM workhorse_jobs AS j
JOIN workhorse_job_edges AS e ON e.child = j.id
WHERE j.workflow_id = :id
ORDER BY e.child, e.parent

-- name: workflow_list
SELECT * FROM workhorse_workflows
WHERE (:tenant IS NULL OR tenant = :tenant)
  AND (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
  AND (:name IS NULL OR name = :name)
  AND (:before_id IS NULL OR id < :before_id)
ORDER BY id DESC
LIMIT :limit

-- name: workflow_cancel_steps
-- Every step of the workflow that has not ended, cancelled; returns them.
UPDATE workhorse_jobs
SET state = 'cancelled', finished_at = :now, lease_token = NULL, lease_expires_at = NULL,
    updated_at = :now
WHERE workflow_id = :id AND state NOT IN ('succeeded', 'dead', 'cancelled')
RETURNING id, state, workflow_id, has_children

-- name: workflow_retry_steps
-- Every dead step of the workflow, requeued as a retry by hand requeues one; returns them.
UPDATE workhorse_jobs
SET state = 'queued', attempts = 0, run_at = :now, result = NULL, finished_at = NULL,
    started_at = NULL, updated_at = :now
WHERE workflow_id = :id AND state = 'dead'
RETURNING id, queue, state, has_children, workflow_id
-- Events (the outbox) ------------------------------------------------------------------------

-- fragment: event_job
-- A job's event data: the job as the API shows it, without tracebacks (they may name server
-- paths) and with args, kwargs and result each bounded (over 64 KiB: null, named in truncated).
json_object(
    'id', j.id, 'tenant', j.tenant, 'queue', j.queue, 'task', j.task, 'state', j.state,
    'priority', j.priority, 'attempts', j.attempts, 'max_attempts', j.max_attempts,
    'timeout', j.timeout, 'unique_key', j.unique_key, 'concurrency_key', j.concurrency_key,
    'args', CASE WHEN length(CAST(j.args AS BLOB)) <= 65536 THEN json(j.args) END,
    'kwargs', CASE WHEN length(CAST(j.kwargs AS BLOB)) <= 65536 THEN json(j.kwargs) END,
    'result', CASE WHEN length(CAST(j.result AS BLOB)) <= 65536 THEN json(j.result) END,
    'error', json_remove(j.errors -> '$[#-1]', '$.traceback'),
    'truncated', json((
        SELECT json_group_array(value) FROM json_each(json_array(
            CASE WHEN length(CAST(j.args AS BLOB)) > 65536 THEN 'args' END,
            CASE WHEN length(CAST(j.kwargs AS BLOB)) > 65536 THEN 'kwargs' END,
            CASE WHEN length(CAST(j.result AS BLOB)) > 65536 THEN 'result' END))
        WHERE value IS NOT NULL)),
    'created_at', j.created_at, 'run_at', j.run_at, 'started_at', j.started_at,
    'finished_at', j.finished_at)

-- name: event_record
-- The events of jobs that changed state in this transaction, for subscribed tenants and types;
-- without a subscribed destination, nothing is written.
INSERT INTO workhorse_events (tenant, type, job_id, occurred_at, data)
SELECT j.tenant, 'job.' || j.state, j.id, :now,
    -- include: event_job
FROM workhorse_jobs AS j
WHERE j.id IN (SELECT value FROM json_each(:ids))
  AND EXISTS (
    SELECT 1 FROM workhorse_destinations AS d
    WHERE (d.tenant IS NULL OR d.tenant = j.tenant) AND d.disabled_at IS NULL
      AND (d.event_types IS NULL
           OR EXISTS (SELECT 1 FROM json_each(d.event_types) WHERE value = 'job.' || j.state)))
ORDER BY j.id
RETURNING id

-- name: workflow_event_record
-- The events of workflows :ids that settled earlier in this transaction, for subscribed tenants
-- and types: each workflow as the API shows it, its steps summarised as the API does (over
-- 64 KiB of steps: null, named in truncated).
WITH workflow_now AS (
    SELECT w.*, (
        SELECT coalesce(json_group_array(json(t.step)), '[]') FROM (
            SELECT json_object(
                'key', j.step_key, 'job_id', j.id, 'task', j.task, 'state', j.state,
                'after', (SELECT json_group_array(parent) FROM (
                              SELECT e.parent FROM workhorse_job_edges AS e
                              WHERE e.child = j.id ORDER BY e.parent)),
                'started_at', j.started_at, 'finished_at', j.finished_at) AS step
            FROM workhorse_jobs AS j WHERE j.workflow_id = w.id ORDER BY j.id
        ) AS t
    ) AS step_list
    FROM workhorse_workflows AS w
    WHERE w.id IN (SELECT value FROM json_each(:ids)) AND w.state <> 'running'
)
INSERT INTO workhorse_events (tenant, type, job_id, occurred_at, data)
SELECT w.tenant, 'workflow.' || w.state, NULL, :now,
    json_object(
        'id', w.id, 'tenant', w.tenant, 'name', w.name, 'state', w.state,
        'steps_total', w.steps, 'steps_left', w.steps_left, 'steps_dead', w.steps_dead,
        'steps_cancelled', w.steps_cancelled, 'created_at', w.created_at,
        'finished_at', w.finished_at,
        'steps', CASE WHEN length(CAST(w.step_list AS BLOB)) <= 65536 THEN json(w.step_list) END,
        'truncated', json(CASE WHEN length(CAST(w.step_list AS BLOB)) > 65536 THEN '["steps"]'
                               ELSE '[]' END))
FROM workflow_now AS w
WHERE EXISTS (
    SELECT 1 FROM workhorse_destinations AS d
    WHERE (d.tenant IS NULL OR d.tenant = w.tenant) AND d.disabled_at IS NULL
      AND (d.event_types IS NULL
           OR EXISTS (SELECT 1 FROM json_each(d.event_types)
                      WHERE value = 'workflow.' || w.state)))
ORDER BY w.id
RETURNING id

-- name: event_fan_out
-- One pending delivery per destination of each event.
INSERT INTO workhorse_deliveries (event_id, destination_id, tenant, job_id, next_at, created_at)
SELECT e.id, d.id, e.tenant, e.job_id, :now, :now
FROM workhorse_events AS e JOIN workhorse_destinations AS d
  ON (d.tenant IS NULL OR d.tenant = e.tenant) AND d.disabled_at IS NULL
 AND (d.event_types IS NULL
      OR EXISTS (SELECT 1 FROM json_each(d.event_types) WHERE value = e.type))
WHERE e.id IN (SELECT value FROM json_each(:ids))
ORDER BY e.id, d.id

-- name: event_list
SELECT * FROM workhorse_events
WHERE (:tenant IS NULL OR tenant = :tenant) AND id > :after_id
ORDER BY id
LIMIT :limit

-- name: destination_insert
INSERT INTO workhorse_destinations
    (tenant, kind, url, options, event_types, secrets, created_at, updated_at)
VALUES (:tenant, :kind, :url, :options, :event_types, :secrets, :now, :now)
RETURNING *

-- name: destination_list
SELECT * FROM workhorse_destinations
WHERE (:tenant IS NULL OR tenant = :tenant)
  AND (:kinds IS NULL OR kind IN (SELECT value FROM json_each(:kinds)))
ORDER BY id

-- name: destination_delete
-- Its deliveries go with it (ON DELETE CASCADE); its events stay for the others.
DELETE FROM workhorse_destinations
WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant)

-- name: destination_update
UPDATE workhorse_destinations
SET disabled_at = CASE WHEN :enable THEN NULL ELSE disabled_at END,
    disabled_reason = CASE WHEN :enable THEN NULL ELSE disabled_reason END,
    secrets = COALESCE(:secrets, secrets),
    updated_at = :now
WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant)
RETURNING *

-- name: destination_disable
UPDATE workhorse_destinations
SET disabled_at = :now, disabled_reason = :reason, updated_at = :now
WHERE id = :id AND disabled_at IS NULL

-- name: delivery_claim
-- Due deliveries to enabled destinations, each the oldest pending event of its job for its
-- destination (a job's events arrive in order). next_at becomes the claim's lease. SQLite has
-- one writer: only the maintenance leader dispatches. Each enabled destination's due rows are
-- walked in index order under the limit (the correlated list): walking the due rows of every
-- destination read all the pending rows of a disabled one on every claim (9 ms for 20,000 of
-- them, growing with the backlog), and found nothing there.
UPDATE workhorse_deliveries
SET attempts = attempts + 1, next_at = :lease_until, claim_token = :token
WHERE id IN (
    SELECT d.id FROM workhorse_destinations AS t JOIN workhorse_deliveries AS d ON d.id IN (
        SELECT x.id FROM workhorse_deliveries AS x INDEXED BY workhorse_deliveries_destination_due
        WHERE x.destination_id = t.id AND x.state = 'pending' AND x.next_at <= :now
          AND NOT EXISTS (
              SELECT 1 FROM workhorse_deliveries AS p
              WHERE p.state = 'pending' AND p.destination_id = x.destination_id
                AND p.job_id = x.job_id AND p.event_id < x.event_id)
        ORDER BY x.next_at, x.id
        LIMIT :limit)
    WHERE t.disabled_at IS NULL
    ORDER BY d.next_at, d.id
    LIMIT :limit
)
RETURNING id

-- name: delivery_lazy_commit
-- PostgreSQL's dispatcher commits without waiting for the disk; SQLite's synchronous setting is
-- per connection and cannot change inside a transaction: nothing to do.
SELECT 0 AS lazy WHERE 0

-- name: delivery_claimed
SELECT d.id, d.attempts,
       e.id AS event_id, e.tenant, e.type, e.job_id, e.data, e.occurred_at,
       t.id AS destination_id, t.tenant AS destination_tenant, t.kind, t.url, t.options,
       t.event_types, t.secrets, t.disabled_at, t.disabled_reason, t.created_at
FROM workhorse_deliveries AS d
JOIN workhorse_events AS e ON e.id = d.event_id
JOIN workhorse_destinations AS t ON t.id = d.destination_id
WHERE d.id IN (SELECT value FROM json_each(:ids))
ORDER BY d.id

-- name: delivery_finish
-- A batch of outcomes, each only under the claim that sent it: a redelivery by hand (or a new
-- claim after the lease ran out) fences the older attempt's outcome off. One statement however
-- many: :outcomes is a JSON array of {id, token, delivered, status, error, next_at}.
UPDATE workhorse_deliveries AS d
SET state = CASE WHEN o.delivered THEN 'delivered'
                 WHEN o.next_at IS NULL THEN 'failed' ELSE 'pending' END,
    next_at = COALESCE(o.next_at, d.next_at),
    claim_token = NULL,
    last_status = o.status,
    last_error = o.error,
    delivered_at = CASE WHEN o.delivered THEN :now END
FROM (
    SELECT value ->> 'id' AS id, value ->> 'token' AS token, value ->> 'delivered' AS delivered,
           value ->> 'status' AS status, value ->> 'error' AS error, value ->> 'next_at' AS next_at
    FROM json_each(:outcomes)
) AS o
WHERE d.id = o.id AND d.claim_token = o.token AND d.state = 'pending'
RETURNING id, destination_id, last_status, last_error

-- name: delivery_attempt_insert
-- The delivery log: one row per outcome written, from delivery_finish's rows.
INSERT INTO workhorse_delivery_attempts (delivery_id, at, status, error)
SELECT value ->> 'id', :now, value ->> 'status', value ->> 'error'
FROM json_each(:attempts)
ORDER BY value ->> 'id'

-- name: delivery_list
SELECT d.*, e.type AS event_type
FROM workhorse_deliveries AS d JOIN workhorse_events AS e ON e.id = d.event_id
WHERE (:tenant IS NULL OR d.tenant = :tenant)
  AND (:destination_id IS NULL OR d.destination_id = :destination_id)
  AND (:state IS NULL OR d.state = :state)
  AND (:before_id IS NULL OR d.id < :before_id)
ORDER BY d.id DESC
LIMIT :limit

-- name: delivery_redeliver
UPDATE workhorse_deliveries
SET state = 'pending', attempts = 0, next_at = :now, claim_token = NULL, delivered_at = NULL
WHERE id = :id AND (:tenant IS NULL OR tenant = :tenant)
RETURNING id

-- name: delivery_get
SELECT d.*, e.type AS event_type
FROM workhorse_deliveries AS d JOIN workhorse_events AS e ON e.id = d.event_id
WHERE d.id = :id

-- name: delivery_attempt_list
SELECT a.at, a.status, a.error
FROM workhorse_delivery_attempts AS a JOIN workhorse_deliveries AS d ON d.id = a.delivery_id
WHERE a.delivery_id = :id AND (:tenant IS NULL OR d.tenant = :tenant)
ORDER BY a.id

-- name: delivery_backlog
SELECT t.kind, count(*) AS pending, min(d.created_at) AS oldest_at
FROM workhorse_deliveries AS d JOIN workhorse_destinations AS t ON t.id = d.destination_id
WHERE d.state = 'pending' AND d.created_at <= :now
GROUP BY t.kind
ORDER BY t.kind

-- name: event_prune
-- Old events no destination waits for any more; their deliveries and delivery log go with them
-- (ON DELETE CASCADE). A pending delivery (a broker still down, an endpoint disabled) keeps its
-- event.
DELETE FROM workhorse_events
WHERE id IN (
    SELECT e.id FROM workhorse_events AS e
    WHERE e.occurred_at < :occurred_before
      AND NOT EXISTS (SELECT 1 FROM workhorse_deliveries AS d
                      WHERE d.event_id = e.id AND d.state = 'pending')
    ORDER BY e.occurred_at
    LIMIT :limit
)

-- name: event_receive
-- The first receipt of an event id wins; a redelivery inserts nothing.
INSERT INTO workhorse_inbound_events (tenant, id, type, job_ids, received_at)
VALUES (:tenant, :event_id, :type, '[]', :now)
ON CONFLICT DO NOTHING
RETURNING id

-- name: event_receive_jobs
UPDATE workhorse_inbound_events SET job_ids = :job_ids
WHERE tenant = :tenant AND id = :event_id

-- name: event_received
SELECT job_ids FROM workhorse_inbound_events WHERE tenant = :tenant AND id = :event_id
