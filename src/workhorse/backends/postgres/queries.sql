-- One named block per operation; names match the Backend Protocol.
-- Parameters are psycopg named placeholders; every time is a parameter (%(now)s), never now().
-- Batches arrive as arrays and are unnested, so one statement (one round trip) serves a batch.

-- name: schema_lock
-- Serialises concurrent `migrate` runs for the length of the transaction.
SELECT pg_advisory_xact_lock(7215376254410237001)

-- name: schema_create_migrations
CREATE TABLE IF NOT EXISTS workhorse_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL
)

-- name: schema_versions
SELECT version FROM workhorse_migrations ORDER BY version

-- name: schema_has_migrations
SELECT to_regclass('workhorse_migrations') IS NOT NULL AS present

-- name: schema_record_migration
INSERT INTO workhorse_migrations (version, name, applied_at) VALUES (%(version)s, %(name)s, %(now)s)

-- name: job_insert
INSERT INTO workhorse_jobs (
    tenant, queue, task, args, kwargs, state, priority, max_attempts, timeout, unique_key,
    created_at, run_at, updated_at
) VALUES (
    %(tenant)s, %(queue)s, %(task)s, %(args)s::jsonb, %(kwargs)s::jsonb, %(state)s, %(priority)s,
    %(max_attempts)s, %(timeout)s, %(unique_key)s, %(now)s, %(run_at)s, %(now)s
)
ON CONFLICT DO NOTHING
RETURNING id

-- name: job_find_live_unique
SELECT id FROM workhorse_jobs
WHERE tenant = %(tenant)s AND unique_key = %(unique_key)s
  AND state NOT IN ('succeeded', 'dead', 'cancelled')

-- name: job_reserve_ids
SELECT nextval(pg_get_serial_sequence('workhorse_jobs', 'id')) FROM generate_series(1, %(count)s)

-- name: job_copy
COPY workhorse_jobs (
    id, tenant, queue, task, args, kwargs, state, priority, max_attempts, timeout, unique_key,
    created_at, run_at, updated_at
) FROM STDIN

-- name: job_notify
SELECT pg_notify('workhorse_jobs', queue) FROM unnest(%(queues)s::text[]) AS q(queue)

-- name: job_claim
-- One index walk per queue (a LATERAL per name): `queue = ANY(...)` would make the planner sort
-- the whole backlog. SKIP LOCKED lets concurrent claimers pass each other without waiting.
WITH candidates AS (
    SELECT c.id
    FROM unnest(%(queues)s::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT id, priority, run_at FROM workhorse_jobs
        WHERE state = 'queued' AND queue = q.name
        ORDER BY priority DESC, run_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AS c
    ORDER BY c.priority DESC, c.run_at, c.id
    LIMIT %(limit)s
)
UPDATE workhorse_jobs AS j
SET state = 'running', attempts = j.attempts + 1, lease_token = %(lease_token)s,
    worker_id = %(worker_id)s, lease_expires_at = %(lease_expires_at)s, started_at = %(now)s,
    updated_at = %(now)s
FROM candidates
WHERE j.id = candidates.id
RETURNING j.id, j.tenant, j.queue, j.task, j.args, j.kwargs, j.attempts, j.max_attempts,
          j.timeout, j.priority, j.run_at

-- name: job_poll
SELECT EXISTS (
    SELECT 1 FROM unnest(%(queues)s::text[]) AS q(name)
    WHERE EXISTS (SELECT 1 FROM workhorse_jobs WHERE state = 'queued' AND queue = q.name)
       OR (%(include_retrying)s AND EXISTS (
              SELECT 1 FROM workhorse_jobs WHERE state = 'retrying' AND queue = q.name))
)

-- name: job_finish_many
UPDATE workhorse_jobs AS j
SET state = o.state,
    result = o.result::jsonb,
    errors = CASE WHEN o.error IS NULL THEN j.errors
                  ELSE j.errors || jsonb_build_array(o.error::jsonb) END,
    run_at = COALESCE(o.run_at, j.run_at),
    finished_at = CASE WHEN o.state = 'retrying' THEN NULL ELSE %(now)s END,
    lease_token = NULL,
    lease_expires_at = NULL,
    updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(tokens)s::text[], %(states)s::text[], %(results)s::text[],
            %(errors)s::text[], %(run_ats)s::timestamptz[])
     AS o(id, token, state, result, error, run_at)
WHERE j.id = o.id AND j.state = 'running' AND j.lease_token = o.token
  AND (NOT %(only_expired)s OR j.lease_expires_at < %(now)s)
RETURNING j.id

-- name: job_heartbeat
UPDATE workhorse_jobs
SET lease_expires_at = %(lease_expires_at)s, updated_at = %(now)s
WHERE state = 'running' AND worker_id = %(worker_id)s
RETURNING id

-- name: job_release
UPDATE workhorse_jobs AS j
SET state = 'queued', attempts = j.attempts - 1, lease_token = NULL, lease_expires_at = NULL,
    started_at = NULL, updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(tokens)s::text[]) AS r(id, token)
WHERE j.id = r.id AND j.state = 'running' AND j.lease_token = r.token
RETURNING j.id, j.queue

-- name: job_list_expired
SELECT id, task, attempts, max_attempts, lease_token, worker_id FROM workhorse_jobs
WHERE state = 'running' AND lease_expires_at < %(now)s
ORDER BY lease_expires_at
LIMIT %(limit)s

-- name: job_promote
WITH due AS (
    SELECT id FROM workhorse_jobs
    WHERE state IN ('scheduled', 'retrying') AND run_at <= %(now)s
    ORDER BY run_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE workhorse_jobs AS j
SET state = 'queued', updated_at = %(now)s
FROM due
WHERE j.id = due.id
RETURNING j.queue

-- name: job_get
SELECT * FROM workhorse_jobs
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)

-- name: job_list
SELECT * FROM workhorse_jobs
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND (%(states)s::text[] IS NULL OR state = ANY(%(states)s::text[]))
  AND (%(queue)s::text IS NULL OR queue = %(queue)s)
  AND (%(task)s::text IS NULL OR task = %(task)s)
  AND (%(before_id)s::bigint IS NULL OR id < %(before_id)s)
ORDER BY id DESC
LIMIT %(limit)s

-- name: job_cancel
UPDATE workhorse_jobs
SET state = 'cancelled', finished_at = %(now)s, lease_token = NULL, lease_expires_at = NULL,
    updated_at = %(now)s
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND state NOT IN ('succeeded', 'dead', 'cancelled')

-- name: job_retry
UPDATE workhorse_jobs
SET state = 'queued', attempts = 0, run_at = %(now)s, result = NULL, finished_at = NULL,
    started_at = NULL, updated_at = %(now)s
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s) AND state = 'dead'
RETURNING queue

-- name: job_progress
UPDATE workhorse_jobs AS j
SET progress = p.progress::jsonb, updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(tokens)s::text[], %(progress)s::text[]) AS p(id, token, progress)
WHERE j.id = p.id AND j.state = 'running' AND j.lease_token = p.token

-- name: job_count
SELECT tenant, queue, state, count(*) AS count FROM workhorse_jobs
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
GROUP BY tenant, queue, state

-- name: job_prune
DELETE FROM workhorse_jobs
WHERE id IN (
    SELECT id FROM workhorse_jobs
    WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at < %(finished_before)s
    LIMIT %(limit)s
)

-- name: leader_elect
INSERT INTO workhorse_leaders AS l (name, holder, expires_at)
VALUES (%(name)s, %(holder)s, %(expires_at)s)
ON CONFLICT (name) DO UPDATE
SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE l.holder = excluded.holder OR l.expires_at < %(now)s
RETURNING holder

-- name: leader_resign
DELETE FROM workhorse_leaders WHERE name = %(name)s AND holder = %(holder)s

-- name: worker_heartbeat
INSERT INTO workhorse_workers (id, host, pid, queues, concurrency, started_at, last_seen_at)
VALUES (%(id)s, %(host)s, %(pid)s, %(queues)s::jsonb, %(concurrency)s, %(started_at)s, %(now)s)
ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at

-- name: worker_list
SELECT * FROM workhorse_workers
WHERE (%(seen_after)s::timestamptz IS NULL OR last_seen_at > %(seen_after)s)
ORDER BY started_at, id

-- name: worker_delete
DELETE FROM workhorse_workers
WHERE (%(id)s::text IS NOT NULL AND id = %(id)s)
   OR (%(seen_before)s::timestamptz IS NOT NULL AND last_seen_at < %(seen_before)s)

-- name: periodic_list
SELECT name, last_slot FROM workhorse_periodic

-- name: periodic_init
INSERT INTO workhorse_periodic (name, last_slot, updated_at) VALUES (%(name)s, %(slot)s, %(now)s)
ON CONFLICT (name) DO NOTHING

-- name: periodic_fire
UPDATE workhorse_periodic SET last_slot = %(slot)s, updated_at = %(now)s
WHERE name = %(name)s AND last_slot < %(slot)s
