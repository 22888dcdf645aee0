-- One named block per operation; names match the Backend Protocol.
-- Parameters are named; every time is a parameter (:now), never the database clock.
-- Lists arrive as JSON arrays and are unpacked with json_each so that each block stays static.

-- name: schema_create_migrations
CREATE TABLE IF NOT EXISTS workhorse_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)

-- name: schema_versions
SELECT version FROM workhorse_migrations ORDER BY version

-- name: schema_record_migration
INSERT INTO workhorse_migrations (version, name, applied_at) VALUES (:version, :name, :now)

-- name: job_insert
INSERT INTO workhorse_jobs (
    tenant, queue, task, args, kwargs, state, priority, max_attempts, timeout, unique_key,
    created_at, run_at, updated_at
) VALUES (
    :tenant, :queue, :task, :args, :kwargs, :state, :priority, :max_attempts, :timeout,
    :unique_key, :now, :run_at, :now
)
ON CONFLICT DO NOTHING
RETURNING id

-- name: job_find_live_unique
SELECT id FROM workhorse_jobs
WHERE tenant = :tenant AND unique_key = :unique_key
  AND state NOT IN ('succeeded', 'dead', 'cancelled')

-- name: job_claim_candidates
-- One queue at a time: an IN list over queues would make SQLite sort the whole backlog.
SELECT id, priority, run_at FROM workhorse_jobs
WHERE state = 'queued' AND queue = :queue
ORDER BY priority DESC, run_at, id
LIMIT :limit

-- name: job_claim
UPDATE workhorse_jobs
SET state = 'running', attempts = attempts + 1, lease_token = :lease_token,
    worker_id = :worker_id, lease_expires_at = :lease_expires_at, started_at = :now,
    updated_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'queued'
RETURNING id, tenant, queue, task, args, kwargs, attempts, max_attempts, timeout, priority, run_at

-- name: job_poll
SELECT 1 FROM workhorse_jobs
WHERE (state = 'queued' OR (:include_retrying AND state = 'retrying'))
  AND queue IN (SELECT value FROM json_each(:queues))
LIMIT 1

-- name: job_finish_many
-- Run once per outcome, inside one transaction.
UPDATE workhorse_jobs
SET state = :state,
    result = :result,
    errors = CASE WHEN :error IS NULL THEN errors
                  ELSE json_insert(errors, '$[#]', json(:error)) END,
    run_at = COALESCE(:run_at, run_at),
    finished_at = CASE WHEN :state = 'retrying' THEN NULL ELSE :now END,
    lease_token = NULL,
    lease_expires_at = NULL,
    updated_at = :now
WHERE id = :id AND state = 'running' AND lease_token = :lease_token
  AND (:only_expired = 0 OR lease_expires_at < :now)

-- name: job_heartbeat
UPDATE workhorse_jobs
SET lease_expires_at = :lease_expires_at, updated_at = :now
WHERE state = 'running' AND worker_id = :worker_id
RETURNING id

-- name: job_release
UPDATE workhorse_jobs
SET state = 'queued', attempts = attempts - 1, lease_token = NULL, lease_expires_at = NULL,
    started_at = NULL, updated_at = :now
WHERE id = :id AND state = 'running' AND lease_token = :lease_token

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
UPDATE workhorse_jobs
SET progress = :progress, updated_at = :now
WHERE id = :id AND state = 'running' AND lease_token = :lease_token

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

-- name: leader_elect
INSERT INTO workhorse_leaders (name, holder, expires_at) VALUES (:name, :holder, :expires_at)
ON CONFLICT (name) DO UPDATE
SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE workhorse_leaders.holder = excluded.holder OR workhorse_leaders.expires_at < :now

-- name: leader_holder
SELECT holder FROM workhorse_leaders WHERE name = :name

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
