-- One named block per operation; names match the Backend Protocol.
-- Parameters are psycopg named placeholders; every time is a parameter (%(now)s), never now().
-- Batches arrive as arrays and are unnested, so one statement (one round trip) serves a batch.
-- Statements that only read or change live jobs (the claim, heartbeats, the promoter, the
-- reaper's read) name the live partition, workhorse_jobs_live: a statement on the partitioned
-- workhorse_jobs costs its planning and its partition checks on every claim, pruned or not. A
-- statement that ends a job, or brings one back, goes through workhorse_jobs, which moves it.

-- name: schema_lock
-- Serialises concurrent `migrate` runs for the length of the transaction.
SELECT pg_advisory_xact_lock(7215376254410237001)

-- name: schema_unbounded
-- A migration may rewrite a large table: no statement_timeout for the rest of its transaction
-- (SET LOCAL: nothing outlives the transaction, so a transaction-pooling PgBouncer is safe). The
-- lock_timeout stays: a migration queued behind a long lock would block every worker behind it.
SET LOCAL statement_timeout = 0

-- name: schema_create_migrations
CREATE TABLE IF NOT EXISTS workhorse_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL
)

-- name: storage_vacuum
-- The claim's two tables: the jobs, and the places that order their tenants.
VACUUM (ANALYZE) workhorse_jobs, workhorse_places

-- name: places_vacuum
-- Every claim moves the places it serves, and the front's read steps over the index entries
-- they leave until a vacuum removes them: at 10,000 tenants, about 0.4 ms more per claim for
-- every 1,000 claims since the last. Autovacuum visits a database once a minute at most
-- (`autovacuum_naptime`), so the maintenance leader does it every few seconds. A small table:
-- milliseconds. SKIP_LOCKED: a vacuum already at work on it (autovacuum's) is left to it.
VACUUM (SKIP_LOCKED) workhorse_places

-- name: schema_versions
SELECT version FROM workhorse_migrations ORDER BY version

-- name: schema_has_migrations
SELECT to_regclass('workhorse_migrations') IS NOT NULL AS present

-- name: schema_record_migration
INSERT INTO workhorse_migrations (version, name, applied_at) VALUES (%(version)s, %(name)s, %(now)s)

-- name: job_insert
INSERT INTO workhorse_jobs (
    tenant, queue, task, args, kwargs, state, priority, max_attempts, timeout, unique_key,
    concurrency_key, concurrency_limit, created_at, run_at, updated_at, trace_context,
    isolation, memory_limit
) VALUES (
    %(tenant)s, %(queue)s, %(task)s, %(args)s::jsonb, %(kwargs)s::jsonb, %(state)s, %(priority)s,
    %(max_attempts)s, %(timeout)s, %(unique_key)s, %(concurrency_key)s, %(concurrency_limit)s,
    %(now)s, %(run_at)s, %(now)s, %(trace_context)s, %(isolation)s, %(memory_limit)s
)
ON CONFLICT DO NOTHING
RETURNING id

-- name: job_find_live_unique
SELECT id FROM workhorse_jobs_live
WHERE tenant = %(tenant)s AND unique_key = %(unique_key)s

-- name: job_insert_plain
-- Jobs without a unique key, all in one statement that also wakes the queues' workers: unless
-- %(checked)s, nothing is inserted when a tenant of the batch has a max_queued (the caller then
-- checks it under the tenant's lock and runs this again). Ids follow the input order.
WITH limited AS (
    SELECT NOT %(checked)s AND EXISTS (
        SELECT 1 FROM workhorse_tenants
        WHERE name = ANY(%(tenants)s::text[]) AND max_queued IS NOT NULL
    ) AS limited
), inserted AS (
    INSERT INTO workhorse_jobs (
        tenant, queue, task, args, kwargs, state, priority, max_attempts, timeout,
        concurrency_key, concurrency_limit, created_at, run_at, updated_at, trace_context,
        isolation, memory_limit
    )
    SELECT j.tenant, j.queue, j.task, j.args, j.kwargs, j.state, j.priority, j.max_attempts,
           j.timeout, j.concurrency_key, j.concurrency_limit, %(now)s, j.run_at, %(now)s,
           j.trace_context, j.isolation, j.memory_limit
    FROM jsonb_to_recordset(%(jobs)s::jsonb) AS j(
        tenant text, queue text, task text, args jsonb, kwargs jsonb, state text,
        priority integer, max_attempts integer, timeout double precision,
        concurrency_key text, concurrency_limit integer, run_at timestamptz, trace_context text,
        isolation text, memory_limit bigint
    )
    WHERE NOT (SELECT limited FROM limited)
    RETURNING id, queue, state
), woken AS (
    -- One channel per schema, so deployments sharing a database do not wake each other.
    SELECT pg_notify('workhorse_jobs.' || current_schema(), queue)
    FROM (SELECT DISTINCT queue FROM inserted WHERE state = 'queued') AS q
)
SELECT (SELECT limited FROM limited) AS limited,
       ARRAY(SELECT id FROM inserted ORDER BY id) AS ids,
       (SELECT count(*) FROM woken) AS woken

-- name: listen_channel
SELECT 'workhorse_jobs.' || current_schema() AS channel

-- name: job_notify
-- One channel per schema, so deployments sharing a database do not wake each other.
SELECT pg_notify('workhorse_jobs.' || current_schema(), queue)
FROM unnest(%(queues)s::text[]) AS q(queue)

-- name: job_poll
SELECT EXISTS (
    SELECT 1 FROM unnest(%(queues)s::text[]) AS q(name)
    WHERE (%(include_queued)s AND EXISTS (
              SELECT 1 FROM workhorse_jobs_live WHERE state = 'queued' AND queue = q.name))
       OR (%(include_retrying)s AND EXISTS (
              SELECT 1 FROM workhorse_jobs_live WHERE state = 'retrying' AND queue = q.name))
) AS found

-- name: job_finish_many
-- Outcomes whose lease token still matches, their run time (times the slots each held) added to
-- each tenant's decayed usage (usage * e^(-elapsed / window) + run time; mean cost as a moving
-- average that moves cost_weight of the way to the batch's mean; workhorse.fairness owns both),
-- and appended for the hourly usage roll-up (an attempt without measured usage counts its run
-- time as wall time, one slot, no CPU; usage_fold adds it to workhorse_usage): one statement.
-- The tenants' rows are written in key order, so two completers never wait on each other's rows
-- in a cycle.
-- In the same statement, so in the same transaction: the dependents of jobs that ended are
-- released or cancelled (`ended` holds only jobs with children: for the others it is empty and
-- that work is a scan of nothing), their workflows' counts move, and waiters are told.
-- Their events (the outbox) are written in the same statement too: the outcomes', the cancelled
-- dependents' and those of the workflows that settled.
WITH RECURSIVE done AS (
    -- Each job finds its outcome by its id in the JSON object, rather than joining a list of
    -- outcomes: a join's order follows the live partition's statistics, and with them stale (the
    -- queue was empty at the last analyze, it is full now) PostgreSQL ran a nested loop that
    -- read every outcome once per running job, 1.3 s for a batch of 500.
    UPDATE workhorse_jobs AS j
    SET (state, result, errors, usage, run_at, finished_at, ended_on) = (
            SELECT o.state, o.result,
                   CASE WHEN o.error IS NULL THEN j.errors
                        ELSE j.errors || jsonb_build_array(o.error) END,
                   CASE WHEN o.usage IS NULL THEN j.usage
                        ELSE j.usage || jsonb_build_array(o.usage) END,
                   COALESCE(o.run_at, j.run_at),
                   CASE WHEN o.state = 'retrying' THEN NULL ELSE %(now)s END,
                   CASE WHEN o.state = 'retrying' THEN 'infinity'
                        ELSE workhorse_ended_on(%(now)s) END
            FROM jsonb_to_record(%(outcomes)s::jsonb -> j.id::text)
                 AS o(state text, result jsonb, error jsonb, run_at timestamptz, usage jsonb)
        ),
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = %(now)s
    WHERE j.id = ANY(%(ids)s::bigint[]) AND j.ended_on = 'infinity' AND j.state = 'running'
      AND j.lease_token = %(outcomes)s::jsonb -> j.id::text ->> 'token'
      AND (NOT %(only_expired)s OR j.lease_expires_at < %(now)s)
    RETURNING j.*,
              greatest(0, extract(epoch FROM %(now)s - j.started_at))::float8 AS run_seconds,
              nullif(%(outcomes)s::jsonb -> j.id::text -> 'usage', 'null') AS measured
), rolled_up AS (
    -- Appended, not added to workhorse_usage: no index to write, no row of another completer to
    -- wait for (see usage_fold).
    INSERT INTO workhorse_usage_pending (
        tenant, hour, task, queue, jobs, attempts, wall_seconds, cpu_seconds, slot_seconds
    )
    SELECT tenant, %(hour)s, task, queue, count(*) FILTER (WHERE state <> 'retrying'), count(*),
           sum(wall), sum(cpu), sum(wall * slots)
    FROM (
        SELECT tenant, task, queue, state,
               coalesce((measured ->> 'wall')::float8, run_seconds) AS wall,
               coalesce((measured ->> 'cpu')::float8, 0) AS cpu,
               coalesce((measured ->> 'slots')::int, 1) AS slots
        FROM done
    ) AS attempts
    GROUP BY tenant, task, queue
), usage AS (
    -- Fair share counts slot-seconds: an attempt that held 4 of a worker's slots used 4 times
    -- its run time of the capacity.
    INSERT INTO workhorse_tenants AS t (name, usage, usage_at, mean_cost, created_at, updated_at)
    SELECT tenant, sum(cost), %(now)s, avg(cost), %(now)s, %(now)s
    FROM (
        SELECT tenant, run_seconds * coalesce((measured ->> 'slots')::int, 1) AS cost FROM done
    ) AS attempts
    GROUP BY tenant
    ORDER BY tenant
    ON CONFLICT (name) DO UPDATE SET
        -- exp() of less than about -745 is an underflow error in PostgreSQL, not 0: a tenant
        -- idle for 745 windows (12 hours at the default minute) would fail every finish.
        usage = t.usage * exp(greatest(
                    -700,
                    -greatest(0, extract(epoch FROM %(now)s - t.usage_at))::float8 / %(window)s
                )) + excluded.usage,
        usage_at = excluded.usage_at,
        mean_cost = CASE WHEN t.mean_cost IS NULL THEN excluded.mean_cost
                         ELSE (1 - %(cost_weight)s) * t.mean_cost
                              + %(cost_weight)s * excluded.mean_cost END
), ended AS (
    SELECT id, state FROM done
    WHERE has_children AND state IN ('succeeded', 'dead', 'cancelled')
),
-- include: dependents_release
, ended_steps AS (
    SELECT workflow_id, state FROM done
    WHERE workflow_id IS NOT NULL AND state IN ('succeeded', 'dead', 'cancelled')
    UNION ALL
    SELECT workflow_id, state FROM changed WHERE workflow_id IS NOT NULL AND state = 'cancelled'
),
-- include: workflow_settle
, ended_ids AS (
    SELECT id FROM done WHERE state IN ('succeeded', 'dead', 'cancelled')
    UNION ALL
    SELECT id FROM changed WHERE state = 'cancelled'
),
-- include: ended_notify
, ended_jobs AS (
    -- The jobs whose events this statement writes: every outcome, and the dependents it
    -- cancelled down the graph (`changed` returns whole rows; `done` has two columns more).
    SELECT * FROM done
    UNION ALL
    SELECT *, NULL::float8, NULL::jsonb FROM changed WHERE state = 'cancelled'
), event AS (
    -- The outbox: event_record and event_fan_out, on the rows just written (a sibling statement
    -- would not see them). Without a subscribed destination, nothing is written.
    INSERT INTO workhorse_events (tenant, type, job_id, occurred_at, data)
    SELECT j.tenant, 'job.' || j.state, j.id, %(now)s,
        -- include: event_job
    FROM ended_jobs AS j
    WHERE
      -- include: event_subscribed
    ORDER BY j.id
    RETURNING id, tenant, type, job_id
), workflow_now AS (
    SELECT * FROM settled WHERE state <> 'running'
), step_now AS (
    -- The steps of the workflows that settled, as this statement left them (its own updates are
    -- invisible to a read of the table in the same statement).
    SELECT s.id, s.workflow_id, s.step_key, s.task, s.started_at,
           coalesce(d.state, c.state, s.state) AS state,
           coalesce(d.finished_at, c.finished_at, s.finished_at) AS finished_at
    FROM workhorse_jobs AS s
    LEFT JOIN done AS d ON d.id = s.id
    LEFT JOIN changed AS c ON c.id = s.id
    WHERE s.workflow_id IN (SELECT id FROM workflow_now)
), workflow_event AS (
    -- include: workflow_event_insert
), fan_out AS (
    INSERT INTO workhorse_deliveries (event_id, destination_id, tenant, job_id, next_at, created_at)
    SELECT e.id, d.id, e.tenant, e.job_id, %(now)s, %(now)s
    FROM (SELECT * FROM event UNION ALL SELECT * FROM workflow_event) AS e
    JOIN workhorse_destinations AS d ON
        -- include: event_destination
    ORDER BY e.id, d.id
)
SELECT id, (SELECT count(*) FROM told) + (SELECT count(*) FROM woken) AS signals FROM done

-- name: job_heartbeat
-- Only the jobs the worker names: one it holds here but does not know (a claim whose answer was
-- lost) keeps no lease alive, and the reaper hands it on when it expires.
UPDATE workhorse_jobs_live
SET lease_expires_at = %(lease_expires_at)s, updated_at = %(now)s
WHERE state = 'running' AND worker_id = %(worker_id)s AND id = ANY(%(ids)s::bigint[])
RETURNING id

-- name: job_release
UPDATE workhorse_jobs_live AS j
SET state = 'queued', attempts = j.attempts - 1, lease_token = NULL, lease_expires_at = NULL,
    started_at = NULL, updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(tokens)s::text[]) AS r(id, token)
WHERE j.id = r.id AND j.state = 'running' AND j.lease_token = r.token
RETURNING j.id, j.queue

-- name: job_list_expired
SELECT id, task, attempts, max_attempts, lease_token, worker_id FROM workhorse_jobs_live
WHERE state = 'running' AND lease_expires_at < %(now)s
ORDER BY lease_expires_at
LIMIT %(limit)s

-- name: job_promote
WITH due AS (
    SELECT id FROM workhorse_jobs_live
    WHERE state IN ('scheduled', 'retrying') AND run_at <= %(now)s
    ORDER BY run_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE workhorse_jobs_live AS j
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
  -- from the states: only the live jobs' partition, only the days', or all (run-time pruning)
  AND ended_on BETWEEN %(ended_min)s::date AND %(ended_max)s::date
ORDER BY id DESC
LIMIT %(limit)s

-- name: job_cancel
UPDATE workhorse_jobs
SET state = 'cancelled', finished_at = %(now)s, ended_on = workhorse_ended_on(%(now)s),
    lease_token = NULL, lease_expires_at = NULL, updated_at = %(now)s
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND ended_on = 'infinity'

-- name: job_retry
WITH revived AS (
    UPDATE workhorse_jobs
    SET state = 'queued', attempts = 0, run_at = %(now)s, result = NULL, finished_at = NULL,
        ended_on = 'infinity', started_at = NULL, updated_at = %(now)s
    WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s) AND state = 'dead'
    RETURNING id, queue, tenant
),
-- include: places_revived
SELECT id FROM revived

-- name: job_progress
UPDATE workhorse_jobs_live AS j
SET progress = p.progress::jsonb, updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(tokens)s::text[], %(progress)s::text[]) AS p(id, token, progress)
WHERE j.id = p.id AND j.state = 'running' AND j.lease_token = p.token

-- name: job_count
-- Live jobs counted, ended ones summed from their counts per day (workhorse_job_totals): the
-- history kept is never read.
SELECT tenant, queue, state, count(*) AS count FROM workhorse_jobs_live
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
GROUP BY tenant, queue, state
UNION ALL
SELECT tenant, queue, state, sum(count)::bigint FROM workhorse_job_totals
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
GROUP BY tenant, queue, state
HAVING sum(count) > 0

-- name: job_prune
DELETE FROM workhorse_jobs
WHERE id IN (
    SELECT id FROM workhorse_jobs
    WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at < %(finished_before)s
    LIMIT %(limit)s
)
RETURNING id

-- name: job_history_rotate
-- The oldest day of ended jobs before :before, dropped (see workhorse_jobs_drop_day); the caller
-- runs it until it returns nothing, then job_history_prepare.
SELECT day, jobs FROM workhorse_jobs_drop_day(%(before)s::date)

-- name: job_history_prepare
SELECT count(*) FILTER (WHERE created) AS created
FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS d(day)
CROSS JOIN LATERAL workhorse_jobs_prepare_day(d.day::date) AS p(created)

-- name: job_history_compact
-- The counts of ended jobs summed into one row per (tenant, queue, state, day) where a key has
-- several (the triggers only ever append; see schema.sql), keys that sum to nothing removed.
-- Rows appended by transactions that commit after this statement began are not seen, so not
-- deleted: they are summed next time. A second compactor at once waits for the rows the first
-- deletes, then skips them; each key's sum is written once.
WITH several AS (
    SELECT tenant, queue, state, ended_on FROM workhorse_job_totals
    GROUP BY tenant, queue, state, ended_on
    HAVING count(*) > 1
), gone AS (
    DELETE FROM workhorse_job_totals AS t USING several AS s
    WHERE t.tenant = s.tenant AND t.queue = s.queue AND t.state = s.state
      AND t.ended_on = s.ended_on
    RETURNING t.tenant, t.queue, t.state, t.ended_on, t.count
)
INSERT INTO workhorse_job_totals (tenant, queue, state, ended_on, count)
SELECT tenant, queue, state, ended_on, sum(count) FROM gone
GROUP BY tenant, queue, state, ended_on
HAVING sum(count) <> 0

-- name: job_edges_prune
-- The dependency edges of the jobs just pruned, as parent or as child (through the primary key
-- and workhorse_job_edges_child).
DELETE FROM workhorse_job_edges
WHERE parent = ANY(%(ids)s::bigint[]) OR child = ANY(%(ids)s::bigint[])

-- name: workflow_prune
-- Ended workflows past retention, through workhorse_workflows_finished. Their steps ended no
-- later than they did, so job retention takes those too.
DELETE FROM workhorse_workflows
WHERE id IN (
    SELECT id FROM workhorse_workflows
    WHERE finished_at < %(finished_before)s AND state <> 'running'
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

-- name: claim_places
-- The front of the fair order in each queue, from a place on (`after_*`, a place's position: by
-- place, tenant, queue): the places not held, and those whose hold has ended, best first (two
-- ranges of workhorse_places, whatever the number of tenants), with their tenants' settings and
-- what they run now (a probe of the running index per place read, bounded by the slots in use).
-- No row lock: places only order the tenants; the jobs themselves are taken with SKIP LOCKED, so
-- claimers that read the same front still never take the same job, and locking places would
-- make claimers of a few tenants wait their turn (where more tenants wait than a claim reads,
-- claim_places_reserving spreads claimers over the order without locking a row). Each range
-- reads one place more than the front: the place `after_*` names may be among them, and is left
-- out.
-- The columns are read in this order, into claims._place's parameters.
-- include: claim_front_columns
FROM (
    SELECT f.* FROM unnest(%(queues)s::text[]) AS q(name)
    CROSS JOIN LATERAL (
        (SELECT queue, tenant, place, arrivals, false AS held FROM workhorse_places
         WHERE queue = q.name AND held_until IS NULL
           AND (place, tenant) >= (%(after_place)s::float8, %(after_tenant)s::text)
         ORDER BY place, tenant
         LIMIT %(front)s + 1)
        UNION ALL
        -- include: claim_front_held
    ) AS f
    WHERE (f.place, f.tenant, f.queue)
          > (%(after_place)s::float8, %(after_tenant)s::text, %(after_queue)s::text)
    ORDER BY f.place, f.tenant, f.queue
    LIMIT %(front)s
) AS f
-- include: claim_front_tenant
CROSS JOIN LATERAL (
    -- include: claim_running_tenant
    WHERE state = 'running' AND tenant = f.tenant
) AS r
ORDER BY f.place, f.tenant, f.queue

-- name: claim_places_reserving
-- claim_places where other claimers read the same front and more tenants wait than a claim
-- reads (PostgresBackend.job_claim decides): it reserves the places it reads, so that claimers at
-- once serve different tenants. Without it, a second claimer reads the same front as the first,
-- finds the first's jobs locked, cannot settle their places (the first's settle locks them) and
-- looks at them again once it has committed (claim_places_recheck).
-- `mine`: the places no other claimer reserved, in order, each reserved by a transaction-scoped
-- advisory lock taken without waiting (up to `locks` of them, passing over at most `reach`
-- places). No row is locked: an enqueuer's arrival never waits for a claim that read its place,
-- and the settle locks the rows at the claim's end, as it does after claim_places.
-- The lock is tried on the rows of the ordered, bounded range as they come, outside it: whatever
-- plan the range gets, only the places read until the claim has `locks` are locked.
-- Too few places free (many claimers at once, or the claim reserves at most `locks` and reads
-- more): the places other claimers reserved are read too, after the claim's own.
-- The columns are read in this order, into claims._place's parameters.
WITH mine AS MATERIALIZED (
    SELECT f.* FROM unnest(%(queues)s::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT * FROM (
            SELECT queue, tenant, place, arrivals FROM workhorse_places
            WHERE queue = q.name AND held_until IS NULL
              AND (place, tenant) >= (%(after_place)s::float8, %(after_tenant)s::text)
            ORDER BY place, tenant
            LIMIT %(reach)s
        ) AS p
        -- Advisory locks are the database's, not the schema's: the key names the schema, so that
        -- deployments sharing a database do not reserve each other's places. Its own key space
        -- (two integers; concurrency keys take one bigint). Places whose keys collide are
        -- reserved together: the second is read as another claimer's, never missed.
        WHERE pg_try_advisory_xact_lock(
            7216, hashtext(current_schema() || '/' || p.queue || '/' || p.tenant))
        LIMIT %(locks)s
    ) AS f
)
-- include: claim_front_columns
FROM (
    SELECT f.* FROM (
        SELECT queue, tenant, place, arrivals, false AS held, false AS shared FROM mine
        UNION ALL
        SELECT f.*, true FROM unnest(%(queues)s::text[]) AS q(name)
        CROSS JOIN LATERAL (
            SELECT queue, tenant, place, arrivals, false AS held FROM workhorse_places
            WHERE queue = q.name AND held_until IS NULL
              AND (place, tenant) >= (%(after_place)s::float8, %(after_tenant)s::text)
            ORDER BY place, tenant
            LIMIT %(front)s + 1
        ) AS f
        -- Only when the claim reserved fewer places than its front (checked once).
        WHERE (SELECT count(*) FROM mine) <= %(front)s
          AND NOT EXISTS (SELECT FROM mine AS m WHERE m.queue = f.queue AND m.tenant = f.tenant)
        UNION ALL
        SELECT f.*, false FROM unnest(%(queues)s::text[]) AS q(name)
        CROSS JOIN LATERAL (
            -- include: claim_front_held
        ) AS f
    ) AS f
    WHERE (f.place, f.tenant, f.queue)
          > (%(after_place)s::float8, %(after_tenant)s::text, %(after_queue)s::text)
    -- The claim's own places (and those whose hold ended) first, then those others reserved.
    ORDER BY f.shared, f.place, f.tenant, f.queue
    LIMIT %(front)s
) AS f
-- include: claim_front_tenant
CROSS JOIN LATERAL (
    -- include: claim_running_tenant
    WHERE state = 'running' AND tenant = f.tenant
) AS r
ORDER BY f.place, f.tenant, f.queue

-- fragment: claim_front_columns
SELECT f.queue, f.tenant AS name, f.place, f.arrivals, f.held, tn.weight, tn.max_running, tn.rate,
       tn.burst, tn.paused, tn.usage, tn.usage_at, tn.mean_cost, tn.tokens, tn.tokens_at,
       r.running, r.elapsed

-- fragment: claim_front_held
-- The places whose hold has ended, in the order of their ends.
(SELECT queue, tenant, place, arrivals, true AS held FROM workhorse_places
 WHERE queue = q.name AND held_until <= %(now)s
   AND (place, tenant) >= (%(after_place)s::float8, %(after_tenant)s::text)
 ORDER BY held_until
 LIMIT %(front)s + 1)

-- fragment: claim_front_tenant
-- One lookup by key per place read, whatever the plan: the claim runs this under its generic
-- plan, which cannot see how few places `front` asks for, and a join would then read every
-- tenant's row (a hash join over a sequential scan: 9 ms at 10,000 tenants with rows).
-- LIMIT keeps the subquery from being flattened into such a join.
LEFT JOIN LATERAL (
    SELECT * FROM workhorse_tenants WHERE name = f.tenant LIMIT 1
) AS tn ON true

-- name: claim_places_settle
-- The places a claim read, settled in one statement: the places of tenants this claim served (or
-- gave fewer jobs than slots) are removed when their queue holds no queued job of the tenant; the
-- others get their new positions and holds.
-- Hazard: an enqueue may be adding a job that this statement's snapshot does not see. Its
-- trigger locks the place and bumps `arrivals` until it commits, so a place is removed only if
-- it is not locked now (SKIP LOCKED: never wait for an enqueuer's transaction, which may be the
-- caller's own and long) and `arrivals` is what the claim read (a row changed since is re-read
-- when locked, so its `arrivals` are the new ones). A place an enqueuer holds is skipped rather
-- than waited for (its arrival puts it back in the order anyway).
-- Each place is found by its key once to be locked and once to be written: locking, checking
-- and writing in separate joins found it three times.
-- A `vanished` place (its tenant had slots, the take found none of its jobs) is checked before it
-- is locked, and left alone if its queue still holds a job: another claimer holds those jobs, and
-- it settles the place; locked here, that claimer would skip it, and a place whose last job it
-- took would stay in the order with nothing queued. Otherwise it is locked, and removed, or
-- written if work arrived since it was read. (The check reads this statement's snapshot
-- whether it comes before the lock or after; `arrivals`, re-read under the lock, covers what
-- arrived since.)
WITH s AS (
    SELECT * FROM unnest(%(queues)s::text[], %(tenants)s::text[], %(arrivals)s::bigint[],
                         %(emptied)s::bool[], %(vanished)s::bool[], %(places)s::float8[],
                         %(held)s::timestamptz[]) WITH ORDINALITY
        AS s(queue, tenant, arrivals, emptied, vanished, place, held_until, n)
), locked AS (
    SELECT s.n, p.queue, p.tenant, s.place, s.held_until, s.vanished,
           s.emptied AND p.arrivals = s.arrivals AS may_drain
    FROM s
    -- The first entry of the tenant's claim index, if any. Not NOT EXISTS: the planner costs an
    -- anti-join as if it read every match, and over a deep backlog prefers a bitmap scan of all
    -- the tenant's jobs (tens of milliseconds) to an index probe that stops at the first.
    LEFT JOIN LATERAL (
        SELECT true AS found FROM workhorse_jobs_live AS j
        WHERE s.vanished AND j.state = 'queued' AND j.queue = s.queue AND j.tenant = s.tenant
        ORDER BY j.priority DESC, j.run_at, j.id
        LIMIT 1
    ) AS left_over ON true
    JOIN workhorse_places AS p ON p.queue = s.queue AND p.tenant = s.tenant
    WHERE left_over.found IS NULL
    ORDER BY p.queue, p.tenant
    FOR UPDATE OF p SKIP LOCKED
), settled AS (
    SELECT l.queue, l.tenant, l.place, l.held_until,
           l.may_drain AND queued.found IS NULL AS drained
    FROM locked AS l
    LEFT JOIN LATERAL (
        SELECT true AS found FROM workhorse_jobs_live AS j
        WHERE l.may_drain AND NOT l.vanished
          AND j.state = 'queued' AND j.queue = l.queue AND j.tenant = l.tenant
        ORDER BY j.priority DESC, j.run_at, j.id
        LIMIT 1
    ) AS queued ON true
), dropped AS (  -- runs though nothing reads it, as every data-modifying WITH does
    DELETE FROM workhorse_places AS p USING settled AS d
    WHERE d.drained AND p.queue = d.queue AND p.tenant = d.tenant
), holding AS (
    -- The quota tenants whose places this claim holds, marked so that their next finish puts
    -- the places back (workhorse_places_release). The claim locked their rows already
    -- (claim_lock_tenants): no new lock is taken here.
    UPDATE workhorse_tenants SET holds = true
    WHERE name = ANY(%(holding)s::text[]) AND NOT holds
), written AS (
    UPDATE workhorse_places AS p SET place = k.place, held_until = k.held_until
    FROM settled AS k
    WHERE NOT k.drained AND p.queue = k.queue AND p.tenant = k.tenant
), skipped AS MATERIALIZED (
    -- By the places' numbers, looked up in one array: a join of the two lists is planned as a
    -- nested loop over them (their sizes are unknown to the plan), a pass of one per row of
    -- the other, 58 × 58 rows at a claim's front.
    SELECT s.queue, s.tenant, s.arrivals FROM s
    WHERE s.emptied AND NOT s.vanished AND s.n <> ALL (ARRAY(SELECT n FROM locked))
)
-- The places of tenants this claim took jobs from that another transaction held, and whose
-- queue holds no job that is queued and free: the jobs left, if any, are locked (taken by a
-- claimer that has not committed). The caller looks at them again once it has committed
-- (claim_places_recheck). A job is free if `KEY SHARE` takes it without waiting: a claimer's
-- take holds its jobs `FOR UPDATE`, which conflicts, and a job taken and committed since this
-- statement began is re-read as running. (The probe's lock lasts until the claim commits, the
-- next statement: only a take at that moment skips the job.)
SELECT k.queue, k.tenant, k.arrivals FROM skipped AS k
LEFT JOIN LATERAL (
    SELECT true AS found FROM workhorse_jobs_live AS j
    WHERE j.state = 'queued' AND j.queue = k.queue AND j.tenant = k.tenant
    ORDER BY j.priority DESC, j.run_at, j.id
    LIMIT 1
    FOR KEY SHARE SKIP LOCKED
) AS free ON true
WHERE free.found IS NULL
  AND EXISTS (SELECT FROM workhorse_places AS p WHERE p.queue = k.queue AND p.tenant = k.tenant)

-- name: claim_places_recheck
-- Places that a claim's settle skipped, locked by another transaction, though the claim had taken
-- jobs of their tenants, looked at again once the claim committed. Two claimers that each took a
-- job of the same tenant both settle its place: the first to lock it still sees the other's job
-- queued (that take is not committed) and writes the place, and the second skips it, locked.
-- Removed here, as the settle would have: no queued job of the tenant left, and no work arrived
-- since the claim read the place (`arrivals`, compared under the lock); a place someone holds
-- is skipped again, never waited for.
WITH s AS (
    SELECT * FROM unnest(%(queues)s::text[], %(tenants)s::text[], %(arrivals)s::bigint[])
        AS s(queue, tenant, arrivals)
), drained AS (
    SELECT p.queue, p.tenant
    FROM s
    LEFT JOIN LATERAL (
        SELECT true AS found FROM workhorse_jobs_live AS j
        WHERE j.state = 'queued' AND j.queue = s.queue AND j.tenant = s.tenant
        ORDER BY j.priority DESC, j.run_at, j.id
        LIMIT 1
    ) AS queued ON true
    JOIN workhorse_places AS p
      ON p.queue = s.queue AND p.tenant = s.tenant AND p.arrivals = s.arrivals
    WHERE queued.found IS NULL
    ORDER BY p.queue, p.tenant
    FOR UPDATE OF p SKIP LOCKED
)
DELETE FROM workhorse_places AS p USING drained AS d
WHERE p.queue = d.queue AND p.tenant = d.tenant

-- name: claim_lock_tenants
-- SKIP LOCKED: a tenant another claimer is serving is skipped this round, never waited for.
-- Returns the rows as they stand once locked: tokens spent by the claimer we may have queued
-- behind are seen.
SELECT * FROM workhorse_tenants WHERE name = ANY(%(names)s::text[])
ORDER BY name
FOR UPDATE SKIP LOCKED

-- fragment: claim_running_tenant
-- A tenant's running jobs and the seconds they have run so far: a probe of the running index,
-- bounded by the slots in use.
SELECT count(*) AS running,
       coalesce(sum(greatest(0, extract(epoch FROM %(now)s - started_at))), 0)::float8 AS elapsed
FROM workhorse_jobs_live

-- name: claim_running
-- Per tenant, counted again once the quota tenants are locked.
SELECT n.name AS tenant, r.running AS count, r.elapsed
FROM unnest(%(names)s::text[]) AS n(name)
CROSS JOIN LATERAL (
    -- include: claim_running_tenant
    WHERE state = 'running' AND tenant = n.name
) AS r

-- name: claim_take
-- Each tenant's best queued jobs (up to its limit), locked; when none of them has a concurrency
-- key (the common case), the best `slots` of each tenant are marked running in the same
-- statement. Otherwise nothing is marked and the candidates go through the concurrency-key
-- admission. Keys at their limit come as parallel arrays of (tenant, key): tenant names may
-- contain any character, so no joined string could tell the pairs apart.
-- MATERIALIZED: the LATERAL scan must run exactly once. `c` is read three times (the ranking,
-- the keyed check, the result) and every read must see the one set of rows it locked: run again,
-- SKIP LOCKED could find other rows (other claimers lock rows meanwhile), and jobs could be
-- marked running that the result does not return. PostgreSQL materializes a CTE read more than
-- once by default; the keyword makes that a requirement rather than a planner default.
WITH c AS MATERIALIZED (
    SELECT c.* FROM unnest(%(tenants)s::text[], %(limits)s::int[]) AS t(name, n)
    CROSS JOIN unnest(%(queues)s::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT id, tenant, priority, run_at, concurrency_key, concurrency_limit
        FROM workhorse_jobs_live
        WHERE state = 'queued' AND queue = q.name AND tenant = t.name
          AND id <> ALL(%(exclude)s::bigint[])
          AND (concurrency_key IS NULL OR NOT EXISTS (
              SELECT 1 FROM unnest(%(blocked_tenants)s::text[], %(blocked_keys)s::text[])
                  AS k(tenant, key)
              WHERE k.tenant = t.name AND k.key = concurrency_key))
        ORDER BY priority DESC, run_at, id
        LIMIT t.n
        FOR UPDATE SKIP LOCKED
    ) AS c
), take AS (
    SELECT ranked.id FROM (
        SELECT c.id, c.tenant,
               row_number() OVER (PARTITION BY c.tenant
                                  ORDER BY c.priority DESC, c.run_at, c.id) AS rank
        FROM c
    ) AS ranked
    JOIN unnest(%(tenants)s::text[], %(slots)s::int[]) AS a(name, slots) ON a.name = ranked.tenant
    WHERE ranked.rank <= a.slots
      AND NOT EXISTS (SELECT 1 FROM c WHERE c.concurrency_key IS NOT NULL)
), started AS (
    UPDATE workhorse_jobs_live AS j
    SET state = 'running', attempts = j.attempts + 1, lease_token = %(lease_token)s,
        worker_id = %(worker_id)s, lease_expires_at = %(lease_expires_at)s,
        started_at = %(now)s, updated_at = %(now)s
    FROM take
    WHERE j.id = take.id
    RETURNING j.id, j.queue, j.task, j.args, j.kwargs, j.attempts, j.max_attempts, j.timeout,
              j.trace_context, j.isolation, j.memory_limit
)
SELECT c.id, c.tenant, c.priority, c.run_at, c.concurrency_key, c.concurrency_limit,
       s.id IS NOT NULL AS started, s.queue, s.task, s.args, s.kwargs, s.attempts,
       s.max_attempts, s.timeout, s.trace_context, s.isolation, s.memory_limit
FROM c LEFT JOIN started AS s ON s.id = c.id
ORDER BY c.priority DESC, c.run_at, c.id

-- name: claim_blocked_keys
-- Keys already at their limit: their queued jobs are skipped, so they cannot starve the rest.
SELECT tenant, concurrency_key AS key FROM workhorse_jobs_live
WHERE state = 'running' AND tenant = ANY(%(names)s::text[]) AND concurrency_key IS NOT NULL
GROUP BY tenant, concurrency_key
HAVING count(*) >= max(concurrency_limit)

-- name: claim_running_by_key
-- Only keys whose transaction-scoped advisory lock we get: two claimers never both admit a key.
-- The lock is a hash of the pair: two pairs may share one (a key then waits a round), which never
-- admits a key past its limit.
SELECT k.tenant, k.key,
       (SELECT count(*) FROM workhorse_jobs_live
        WHERE state = 'running' AND tenant = k.tenant AND concurrency_key = k.key) AS count
FROM unnest(%(tenants)s::text[], %(keys)s::text[]) AS k(tenant, key)
WHERE pg_try_advisory_xact_lock(hashtextextended(k.tenant || '/' || k.key, 7215))

-- name: claim_mark_running
UPDATE workhorse_jobs_live
SET state = 'running', attempts = attempts + 1, lease_token = %(lease_token)s,
    worker_id = %(worker_id)s, lease_expires_at = %(lease_expires_at)s, started_at = %(now)s,
    updated_at = %(now)s
WHERE id = ANY(%(ids)s::bigint[]) AND state = 'queued'
RETURNING id, tenant, queue, task, args, kwargs, attempts, max_attempts, timeout, run_at,
          trace_context, isolation, memory_limit

-- name: claim_spend_tokens
-- tokens_at never moves back: a claim whose clock reading is older than the last one's must not
-- make the next claim refill the same interval twice.
UPDATE workhorse_tenants AS t
SET tokens = s.tokens, tokens_at = greatest(coalesce(t.tokens_at, %(now)s), %(now)s)
FROM unnest(%(names)s::text[], %(tokens)s::float8[]) AS s(name, tokens)
WHERE t.name = s.name

-- name: tenant_upsert
INSERT INTO workhorse_tenants AS t (
    name, weight, max_running, max_queued, rate, burst, paused, usage_at, created_at, updated_at
) VALUES (
    %(name)s, %(weight)s, %(max_running)s, %(max_queued)s, %(rate)s, %(burst)s, %(paused)s,
    %(now)s, %(now)s, %(now)s
)
ON CONFLICT (name) DO UPDATE SET
    weight = excluded.weight, max_running = excluded.max_running,
    max_queued = excluded.max_queued, rate = excluded.rate, burst = excluded.burst,
    paused = excluded.paused, updated_at = excluded.updated_at,
    -- a changed rate starts from a full bucket
    tokens = CASE WHEN t.rate IS NOT DISTINCT FROM excluded.rate
                   AND t.burst IS NOT DISTINCT FROM excluded.burst THEN t.tokens END,
    tokens_at = CASE WHEN t.rate IS NOT DISTINCT FROM excluded.rate
                      AND t.burst IS NOT DISTINCT FROM excluded.burst THEN t.tokens_at END
RETURNING *

-- name: tenant_get
SELECT * FROM workhorse_tenants WHERE name = %(name)s

-- name: tenant_list
SELECT * FROM workhorse_tenants ORDER BY name

-- name: tenant_lock_quota
-- Enqueue checks max_queued under this lock, so racing enqueuers cannot overshoot it together.
SELECT name, max_queued FROM workhorse_tenants
WHERE name = ANY(%(names)s::text[]) AND max_queued IS NOT NULL
ORDER BY name
FOR UPDATE

-- name: tenant_waiting
SELECT count(*) AS count FROM workhorse_jobs_live
WHERE tenant = %(tenant)s AND state IN ('scheduled', 'queued', 'retrying')


-- name: snapshot_begin
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ

-- name: tenant_stats
-- Per tenant: running, waiting, started in the last minute. Bounded by the tenants' live jobs.
SELECT tenant,
       count(*) FILTER (WHERE state = 'running') AS running,
       count(*) FILTER (WHERE state IN ('scheduled', 'queued', 'retrying')) AS waiting,
       count(*) FILTER (WHERE started_at >= %(since)s) AS started
FROM (
    SELECT tenant, state, started_at FROM workhorse_jobs_live
    WHERE state IN ('scheduled', 'queued', 'retrying', 'running')
    UNION ALL
    -- a job that started in the last minute and has ended, ended in the last minute too
    SELECT tenant, state, started_at FROM workhorse_jobs
    WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at >= %(since)s
      AND started_at >= %(since)s AND ended_on >= workhorse_ended_on(%(since)s)
      AND ended_on < 'infinity'
) AS live
GROUP BY tenant

-- API keys, idempotency keys and redrive (the HTTP API's operations) -------------------------

-- name: api_key_insert
INSERT INTO workhorse_api_keys (prefix, secret_hash, tenant, name, created_at)
VALUES (%(prefix)s, %(secret_hash)s, %(tenant)s, %(name)s, %(now)s)
ON CONFLICT (prefix) DO NOTHING
RETURNING *

-- name: api_key_get
SELECT * FROM workhorse_api_keys WHERE prefix = %(prefix)s

-- name: api_key_list
SELECT * FROM workhorse_api_keys
WHERE %(include_revoked)s OR revoked_at IS NULL
ORDER BY id

-- name: api_key_revoke
UPDATE workhorse_api_keys SET revoked_at = COALESCE(revoked_at, %(now)s)
WHERE (%(id)s::bigint IS NOT NULL AND id = %(id)s)
   OR (%(prefix)s::text IS NOT NULL AND prefix = %(prefix)s)
RETURNING *

-- name: api_key_touch
UPDATE workhorse_api_keys SET last_used_at = %(now)s
WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at < %(stale_before)s)

-- name: idempotency_insert
-- Take the key when it is free or its record has expired; no row back: a live record holds it.
-- A racing request with the same key waits here on our uncommitted row, then sees it committed
-- (ON CONFLICT re-checks the latest version), so exactly one of them inserts jobs.
INSERT INTO workhorse_idempotency AS i (scope, key, request_hash, job_ids, created_at, expires_at)
VALUES (%(scope)s, %(key)s, %(request_hash)s, '{}', %(now)s, %(expires_at)s)
ON CONFLICT (scope, key) DO UPDATE
SET request_hash = excluded.request_hash, job_ids = '{}', created_at = excluded.created_at,
    expires_at = excluded.expires_at
WHERE i.expires_at <= %(now)s
RETURNING key

-- name: idempotency_get
SELECT request_hash, job_ids FROM workhorse_idempotency
WHERE scope = %(scope)s AND key = %(key)s

-- name: idempotency_set_jobs
UPDATE workhorse_idempotency SET job_ids = %(job_ids)s::bigint[]
WHERE scope = %(scope)s AND key = %(key)s

-- name: idempotency_prune
DELETE FROM workhorse_idempotency
WHERE ctid IN (
    SELECT ctid FROM workhorse_idempotency WHERE expires_at < %(now)s LIMIT %(limit)s
)

-- fragment: job_redrive_filter
AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
AND (%(queue)s::text IS NULL OR queue = %(queue)s)
AND (%(task)s::text IS NULL OR task = %(task)s)
AND (%(error_type)s::text IS NULL OR errors -> -1 ->> 'type' = %(error_type)s)
AND (%(finished_after)s::timestamptz IS NULL OR finished_at >= %(finished_after)s)
AND (%(finished_before)s::timestamptz IS NULL OR finished_at < %(finished_before)s)
AND (%(action)s <> 'retry' OR unique_key IS NULL OR NOT EXISTS (
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
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED

-- name: job_redrive_count
-- The dry run: job_redrive's filter, counted without a limit.
SELECT count(*) AS count FROM workhorse_jobs AS j
WHERE state = 'dead'
  -- include: job_redrive_filter

-- name: job_redrive_retry
WITH revived AS (
    UPDATE workhorse_jobs
    SET state = 'queued', attempts = 0, run_at = %(now)s, result = NULL, finished_at = NULL,
        ended_on = 'infinity', started_at = NULL, updated_at = %(now)s
    WHERE id = ANY(%(ids)s::bigint[]) AND state = 'dead'
    RETURNING id, queue, tenant, state, has_children, workflow_id
),
-- include: places_revived
SELECT id, queue, state, has_children, workflow_id FROM revived

-- name: job_redrive_cancel
-- finished_at stays when the job died: retention and the finished-time filters keep their meaning.
UPDATE workhorse_jobs SET state = 'cancelled', updated_at = %(now)s
WHERE id = ANY(%(ids)s::bigint[]) AND state = 'dead'
RETURNING id, queue

-- Dashboard reads -----------------------------------------------------------------------------

-- name: job_stats
-- Jobs that finished in [since, until), per bucket: counts by end state and nearest-rank wait
-- percentiles (percentile_disc). The MATERIALIZED CTE is an optimisation fence: the window is
-- read as a range scan of workhorse_jobs_finished, and the tenant filter applies after it; left
-- to itself, the planner may walk a tenant's whole history through workhorse_jobs_tenant.
WITH finished AS MATERIALIZED (
    SELECT tenant, state, finished_at,
           CASE WHEN started_at IS NOT NULL
                THEN greatest(started_at - run_at, interval '0') END AS wait
    FROM workhorse_jobs
    WHERE state IN ('succeeded', 'dead', 'cancelled')
      AND finished_at >= %(since)s AND finished_at < %(until)s
      AND ended_on >= workhorse_ended_on(%(since)s) AND ended_on < 'infinity'
)
SELECT floor(extract(epoch FROM finished_at - %(since)s) / %(bucket)s)::integer AS bucket,
       count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE state = 'dead') AS dead,
       count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY wait) AS wait_p50,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY wait) AS wait_p95
FROM finished
WHERE %(tenant)s::text IS NULL OR tenant = %(tenant)s
GROUP BY 1
ORDER BY 1

-- name: job_count_by_worker
SELECT worker_id, count(*) AS running FROM workhorse_jobs_live
WHERE state = 'running' AND worker_id IS NOT NULL
GROUP BY worker_id

-- name: job_discard
-- finished_at stays when the job died, as job_redrive_cancel keeps it.
UPDATE workhorse_jobs SET state = 'cancelled', updated_at = %(now)s
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s) AND state = 'dead'

-- Metrics ------------------------------------------------------------------------------------

-- name: metrics_snapshot
-- The gauges' one read per interval: the live jobs and the jobs that ended in the window, grouped
-- by (tenant, queue, state); never the history. Planner lessons: each live state is its own
-- branch, so each is a scan of its partial index (queued: the claim index; running: the running
-- index; scheduled and retrying: the waiting index; blocked: the blocked index) sized by that
-- state's rows, where `state IN (all five)` matches no index and scans the whole table; the
-- MATERIALIZED CTE keeps the ended jobs a range of workhorse_jobs_finished. A job created in the window is live now or
-- ended in it, so `created` counts every arrival.
WITH ended AS MATERIALIZED (
    SELECT tenant, queue, state, created_at, run_at,
           CASE WHEN state IN ('succeeded', 'dead') THEN started_at END AS started_at,
           finished_at
    FROM workhorse_jobs
    WHERE state IN ('succeeded', 'dead', 'cancelled') AND finished_at >= %(since)s
      AND ended_on >= workhorse_ended_on(%(since)s) AND ended_on < 'infinity'
), live AS (
    SELECT tenant, queue, state, created_at, run_at FROM workhorse_jobs_live
    WHERE state = 'queued'
    UNION ALL
    SELECT tenant, queue, state, created_at, run_at FROM workhorse_jobs_live
    WHERE state = 'running'
    UNION ALL
    SELECT tenant, queue, state, created_at, run_at FROM workhorse_jobs_live
    WHERE state IN ('scheduled', 'retrying')
    UNION ALL
    SELECT tenant, queue, state, created_at, run_at FROM workhorse_jobs_live
    WHERE state = 'blocked'
)
SELECT tenant, queue, state, count(*) AS count,
       count(*) FILTER (WHERE created_at >= %(since)s) AS created,
       count(*) FILTER (WHERE state IN ('scheduled', 'retrying') AND run_at <= %(now)s) AS due,
       count(started_at) AS runs,
       coalesce(sum(greatest(0, extract(epoch FROM finished_at - started_at))), 0)::float8
           AS run_seconds
FROM (
    SELECT tenant, queue, state, created_at, run_at, NULL::timestamptz AS started_at,
           NULL::timestamptz AS finished_at
    FROM live
    UNION ALL
    SELECT * FROM ended
) AS j
GROUP BY tenant, queue, state

-- name: metrics_snapshot_workers
SELECT count(*) AS workers, coalesce(sum(concurrency), 0) AS slots FROM workhorse_workers
WHERE last_seen_at > %(seen_after)s

-- name: metrics_snapshot_workflows
-- Workflows running now (through workhorse_workflows_running), and those that ended in the window
-- by end state (a range of workhorse_workflows_finished); never the history.
SELECT 'running' AS state, count(*) AS count FROM workhorse_workflows WHERE state = 'running'
UNION ALL
SELECT state, count(*) FROM workhorse_workflows
WHERE finished_at IS NOT NULL AND finished_at >= %(since)s
GROUP BY state

-- name: usage_list
-- The roll-up with the rows appended since its last fold, in one snapshot: a fold that commits
-- meanwhile is seen whole or not at all, so no row is counted twice or missed.
SELECT tenant, hour, task, queue, sum(jobs)::bigint AS jobs, sum(attempts)::bigint AS attempts,
       sum(wall_seconds) AS wall_seconds, sum(cpu_seconds) AS cpu_seconds,
       sum(slot_seconds) AS slot_seconds
FROM (
    SELECT tenant, hour, task, queue, jobs, attempts, wall_seconds, cpu_seconds, slot_seconds
    FROM workhorse_usage
    WHERE hour >= %(since)s AND hour < %(until)s
      AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
    UNION ALL
    SELECT tenant, hour, task, queue, jobs, attempts, wall_seconds, cpu_seconds, slot_seconds
    FROM workhorse_usage_pending
    WHERE hour >= %(since)s AND hour < %(until)s
      AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
) AS u
GROUP BY tenant, hour, task, queue
ORDER BY hour, tenant, task, queue

-- name: usage_fold
-- Up to `limit` rows the finishes appended, summed into the roll-up and removed, in one
-- transaction. Rows of a transaction that commits after this statement began are not seen, so not
-- removed: the next fold takes them. Two folds at once: the second waits for the rows the first
-- removes, then skips them; each row is added once. The roll-up's rows are written in key order,
-- so two folds never wait on each other's rows in a cycle (finishes do not write them).
-- Pending rows are only ever inserted and deleted, never updated: a row's ctid names it until
-- it is deleted.
WITH moved AS (
    DELETE FROM workhorse_usage_pending
    WHERE ctid = ANY(ARRAY(SELECT ctid FROM workhorse_usage_pending LIMIT %(limit)s))
    RETURNING tenant, hour, task, queue, jobs, attempts, wall_seconds, cpu_seconds, slot_seconds
), added AS (
    INSERT INTO workhorse_usage AS u (
        tenant, hour, task, queue, jobs, attempts, wall_seconds, cpu_seconds, slot_seconds
    )
    SELECT tenant, hour, task, queue, sum(jobs), sum(attempts), sum(wall_seconds),
           sum(cpu_seconds), sum(slot_seconds)
    FROM moved
    GROUP BY tenant, hour, task, queue
    ORDER BY tenant, hour, task, queue
    ON CONFLICT (tenant, hour, task, queue) DO UPDATE SET
        jobs = u.jobs + excluded.jobs,
        attempts = u.attempts + excluded.attempts,
        wall_seconds = u.wall_seconds + excluded.wall_seconds,
        cpu_seconds = u.cpu_seconds + excluded.cpu_seconds,
        slot_seconds = u.slot_seconds + excluded.slot_seconds
)
SELECT count(*) AS moved FROM moved
-- Dependencies and workflows ------------------------------------------------------------------

-- fragment: dependents_release
-- The dependents of the jobs in a CTE `ended(id, state)` that the including block defines, all in
-- one pass. `doomed`: the blocked children of a failed job that do not run on parent failure, and
-- theirs down the graph, each with the failed job at the root of its cancellation (a DAG: the
-- recursion ends). `freed`: per child, the parents that no longer hold it back (succeeded, or
-- failed when it runs anyway). One UPDATE applies both; a child queued or cancelled meanwhile by
-- another transaction is re-checked against its current row (`state = 'blocked'`) and left alone.
doomed(id, root) AS (
    SELECT e.child, f.id
    FROM ended AS f
    JOIN workhorse_job_edges AS e ON e.parent = f.id
    JOIN workhorse_jobs_live AS c ON c.id = e.child
    WHERE f.state <> 'succeeded' AND c.state = 'blocked' AND NOT c.run_on_parent_failure
    UNION
    SELECT e.child, d.root
    FROM doomed AS d
    JOIN workhorse_job_edges AS e ON e.parent = d.id
    JOIN workhorse_jobs_live AS c ON c.id = e.child
    WHERE c.state = 'blocked' AND NOT c.run_on_parent_failure
), doomed_once AS (
    SELECT id, min(root) AS root FROM doomed GROUP BY id
), freed AS (
    SELECT e.child AS id, count(*) AS n
    FROM (SELECT id, state FROM ended UNION ALL SELECT id, 'cancelled' FROM doomed_once) AS p
    JOIN workhorse_job_edges AS e ON e.parent = p.id
    -- Not a join to the children: planned with `ended`'s unknown size, it became hash joins over
    -- full scans of the edges and the jobs (tens of milliseconds per finished batch); the common
    -- case (a parent that succeeded) needs no look at the child at all.
    WHERE p.state = 'succeeded'
       OR EXISTS (SELECT FROM workhorse_jobs_live AS c
                  WHERE c.id = e.child AND c.run_on_parent_failure)
    GROUP BY e.child
), changed AS (
    UPDATE workhorse_jobs AS c
    SET pending_parents = c.pending_parents - coalesce(x.n, 0),
        state = CASE WHEN x.root IS NOT NULL THEN 'cancelled'
                     WHEN c.pending_parents - coalesce(x.n, 0) <= 0 THEN 'queued'
                     ELSE 'blocked' END,
        cancelled_by = x.root,
        finished_at = CASE WHEN x.root IS NOT NULL THEN %(now)s END,
        ended_on = CASE WHEN x.root IS NOT NULL THEN workhorse_ended_on(%(now)s)
                        ELSE 'infinity' END,
        run_at = CASE WHEN x.root IS NULL AND c.pending_parents - coalesce(x.n, 0) <= 0
                      THEN greatest(c.run_at, %(now)s) ELSE c.run_at END,
        updated_at = %(now)s
    FROM (
        SELECT coalesce(f.id, d.id) AS id, f.n, d.root
        FROM freed AS f FULL JOIN doomed_once AS d ON d.id = f.id
    ) AS x
    WHERE c.id = x.id AND c.ended_on = 'infinity' AND c.state = 'blocked'
    RETURNING c.*
), woken AS (
    SELECT pg_notify('workhorse_jobs.' || current_schema(), queue)
    FROM (SELECT DISTINCT queue FROM changed WHERE state = 'queued') AS q
)

-- fragment: workflow_settle
-- Workflows of the steps in a CTE `ended_steps(workflow_id, state)`: their counts move, and the
-- one whose last step ended settles (some step dead: failed; else some cancelled: cancelled; else
-- succeeded). The workflow's row lock orders racing finishers: exactly one sees zero left.
settled AS (
    UPDATE workhorse_workflows AS w
    SET steps_left = w.steps_left - s.n,
        steps_dead = w.steps_dead + s.dead,
        steps_cancelled = w.steps_cancelled + s.cancelled,
        state = CASE WHEN w.steps_left - s.n > 0 THEN 'running'
                     WHEN w.steps_dead + s.dead > 0 THEN 'failed'
                     WHEN w.steps_cancelled + s.cancelled > 0 THEN 'cancelled'
                     ELSE 'succeeded' END,
        finished_at = CASE WHEN w.steps_left - s.n > 0 THEN NULL ELSE %(now)s END,
        updated_at = %(now)s
    FROM (
        SELECT workflow_id, count(*) AS n,
               count(*) FILTER (WHERE state = 'dead') AS dead,
               count(*) FILTER (WHERE state = 'cancelled') AS cancelled
        FROM ended_steps GROUP BY workflow_id
    ) AS s
    WHERE w.id = s.workflow_id
    RETURNING w.*
)

-- fragment: ended_notify
-- Waiters learn which jobs ended from a CTE `ended_ids(id)`: one notification per 500 ids (a
-- payload holds at most 8000 bytes), on the schema's own channel.
told AS (
    SELECT pg_notify('workhorse_ended.' || current_schema(), string_agg(id::text, ','))
    FROM (SELECT id, (row_number() OVER ()) / 500 AS chunk FROM ended_ids) AS n
    GROUP BY chunk
)

-- name: job_release_dependents
-- A job that ended outside a finish (a cancel): its dependents, their workflows and waiters, as
-- job_finish_many does for the jobs it finishes. :ended is a JSON array of {id, state}; each has
-- children.
WITH RECURSIVE ended AS (
    SELECT id, state FROM jsonb_to_recordset(%(ended)s::jsonb) AS e(id bigint, state text)
),
-- include: dependents_release
SELECT id, state, workflow_id, (SELECT count(*) FROM woken) AS signals FROM changed

-- name: workflow_settle_steps
-- Steps that ended outside a finish: :steps is a JSON array of {workflow_id, state}.
WITH ended_steps AS (
    SELECT workflow_id, state
    FROM jsonb_to_recordset(%(steps)s::jsonb) AS e(workflow_id bigint, state text)
),
-- include: workflow_settle
SELECT id, state FROM settled

-- name: job_notify_ended
-- Tell waiters that the jobs :ids ended (once the transaction commits).
WITH ended_ids AS (SELECT unnest(%(ids)s::bigint[]) AS id),
-- include: ended_notify
SELECT count(*) AS signals FROM told

-- name: ended_channel
SELECT 'workhorse_ended.' || current_schema() AS channel

-- name: job_ended
-- Of :ids, those that have ended.
SELECT id FROM workhorse_jobs
WHERE id = ANY(%(ids)s::bigint[]) AND ended_on < 'infinity'

-- name: job_reopen_dependents
-- Children cancelled because of a job in :roots, none of whose parents is dead or cancelled now:
-- blocked again, waiting for the parents that have not succeeded. Run until it returns nothing:
-- each round re-opens one more level of the graph.
UPDATE workhorse_jobs AS c
SET state = 'blocked', cancelled_by = NULL, finished_at = NULL, ended_on = 'infinity',
    updated_at = %(now)s,
    pending_parents = (
        SELECT count(*) FROM workhorse_job_edges AS e
        JOIN workhorse_jobs AS p ON p.id = e.parent
        WHERE e.child = c.id AND p.state <> 'succeeded')
WHERE c.cancelled_by = ANY(%(roots)s::bigint[]) AND c.state = 'cancelled'
  AND NOT EXISTS (
      SELECT 1 FROM workhorse_job_edges AS e
      JOIN workhorse_jobs AS p ON p.id = e.parent
      WHERE e.child = c.id AND p.state IN ('dead', 'cancelled'))
RETURNING c.id, c.workflow_id

-- name: workflow_reopen
-- A failed step retried by hand and the steps that re-opened with it: the workflow runs again.
-- :steps is a JSON array of {workflow_id, dead, cancelled}: how many dead and cancelled steps of
-- it live again.
UPDATE workhorse_workflows AS w
SET steps_left = w.steps_left + s.dead + s.cancelled,
    steps_dead = w.steps_dead - s.dead,
    steps_cancelled = w.steps_cancelled - s.cancelled,
    state = 'running', finished_at = NULL, updated_at = %(now)s
FROM (
    SELECT workflow_id, sum(dead)::int AS dead, sum(cancelled)::int AS cancelled
    FROM jsonb_to_recordset(%(steps)s::jsonb) AS e(workflow_id bigint, dead int, cancelled int)
    GROUP BY workflow_id
) AS s
WHERE w.id = s.workflow_id

-- name: job_edges_insert
-- :edges is a JSON array of [parent, child].
INSERT INTO workhorse_job_edges (parent, child)
SELECT (e ->> 0)::bigint, (e ->> 1)::bigint FROM jsonb_array_elements(%(edges)s::jsonb) AS e
ON CONFLICT DO NOTHING

-- name: job_mark_parents
-- The parents of new children: flagged (so their finish looks for dependents) and returned with
-- their state. The row lock orders this against a parent's finish: either the finish sees the flag
-- and the edges, or this sees the parent's end state.
-- The parents named by children of :tenant: another tenant's job is not matched, so neither
-- changed nor locked.
UPDATE workhorse_jobs SET has_children = true
WHERE id = ANY(%(ids)s::bigint[]) AND tenant = %(tenant)s
RETURNING id, tenant, state, cancelled_by

-- name: job_link
-- New jobs' place in the graph: :jobs is a JSON array of {id, state, pending, cancelled_by,
-- run_on_parent_failure, workflow_id, step_key, finished}.
UPDATE workhorse_jobs AS j
SET state = l.state, pending_parents = l.pending, cancelled_by = l.cancelled_by,
    run_on_parent_failure = l.run_on_parent_failure, workflow_id = l.workflow_id,
    step_key = l.step_key, finished_at = CASE WHEN l.finished THEN %(now)s END,
    ended_on = CASE WHEN l.finished THEN workhorse_ended_on(%(now)s) ELSE 'infinity' END
FROM jsonb_to_recordset(%(jobs)s::jsonb) AS l(
    id bigint, state text, pending int, cancelled_by bigint, run_on_parent_failure boolean,
    workflow_id bigint, step_key text, finished boolean
)
WHERE j.id = l.id AND j.ended_on = 'infinity'

-- name: job_parent_results
SELECT p.id, p.step_key, p.result FROM workhorse_job_edges AS e
JOIN workhorse_jobs AS p ON p.id = e.parent
WHERE e.child = %(id)s
ORDER BY p.id

-- name: job_has_ancestor
-- Whether :ancestor is :id's parent, or a parent's, up the graph.
WITH RECURSIVE up(id) AS (
    SELECT parent FROM workhorse_job_edges WHERE child = %(id)s
    UNION
    SELECT e.parent FROM up JOIN workhorse_job_edges AS e ON e.child = up.id
)
SELECT EXISTS (SELECT 1 FROM up WHERE id = %(ancestor)s) AS found

-- name: workflow_insert
INSERT INTO workhorse_workflows (tenant, name, state, steps, steps_left, created_at, updated_at)
VALUES (%(tenant)s, %(name)s, 'running', %(steps)s, %(steps)s, %(now)s, %(now)s)
RETURNING id

-- name: workflow_get
SELECT * FROM workhorse_workflows
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)

-- name: workflow_steps
SELECT * FROM workhorse_jobs WHERE workflow_id = %(id)s ORDER BY id

-- name: workflow_edges
SELECT e.parent, e.child FROM workhorse_jobs AS j
JOIN workhorse_job_edges AS e ON e.child = j.id
WHERE j.workflow_id = %(id)s
ORDER BY e.child, e.parent

-- name: workflow_list
SELECT * FROM workhorse_workflows
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND (%(states)s::text[] IS NULL OR state = ANY(%(states)s::text[]))
  AND (%(name)s::text IS NULL OR name = %(name)s)
  AND (%(before_id)s::bigint IS NULL OR id < %(before_id)s)
ORDER BY id DESC
LIMIT %(limit)s

-- name: workflow_cancel_steps
-- Every step of the workflow that has not ended, cancelled; returns them.
UPDATE workhorse_jobs
SET state = 'cancelled', finished_at = %(now)s, ended_on = workhorse_ended_on(%(now)s),
    lease_token = NULL, lease_expires_at = NULL, updated_at = %(now)s
WHERE workflow_id = %(id)s AND ended_on = 'infinity'
RETURNING id, state, workflow_id, has_children

-- name: workflow_retry_steps
-- Every dead step of the workflow, requeued as a retry by hand requeues one; returns them.
WITH revived AS (
    UPDATE workhorse_jobs
    SET state = 'queued', attempts = 0, run_at = %(now)s, result = NULL, finished_at = NULL,
        ended_on = 'infinity', started_at = NULL, updated_at = %(now)s
    WHERE workflow_id = %(id)s AND state = 'dead'
    RETURNING id, queue, tenant, state, has_children, workflow_id
),
-- include: places_revived
SELECT id, queue, state, has_children, workflow_id FROM revived
-- Events (the outbox) ------------------------------------------------------------------------

-- fragment: event_job
-- A job's event data: the job as the API shows it, without tracebacks (they may name server
-- paths) and with args, kwargs and result each bounded (over 64 KiB: null, named in truncated).
jsonb_build_object(
    'id', j.id, 'tenant', j.tenant, 'queue', j.queue, 'task', j.task, 'state', j.state,
    'priority', j.priority, 'attempts', j.attempts, 'max_attempts', j.max_attempts,
    'timeout', j.timeout, 'unique_key', j.unique_key, 'concurrency_key', j.concurrency_key,
    'args', CASE WHEN octet_length(j.args::text) <= 65536 THEN j.args END,
    'kwargs', CASE WHEN octet_length(j.kwargs::text) <= 65536 THEN j.kwargs END,
    'result', CASE WHEN octet_length(j.result::text) <= 65536 THEN j.result END,
    'error', (j.errors -> -1) - 'traceback',
    'truncated', to_jsonb(array_remove(ARRAY[
        CASE WHEN octet_length(j.args::text) > 65536 THEN 'args' END,
        CASE WHEN octet_length(j.kwargs::text) > 65536 THEN 'kwargs' END,
        CASE WHEN octet_length(j.result::text) > 65536 THEN 'result' END], NULL)),
    'created_at', j.created_at, 'run_at', j.run_at, 'started_at', j.started_at,
    'finished_at', j.finished_at)

-- fragment: event_subscribed
-- Some enabled destination receives job j's event: without one, no event is written at all.
EXISTS (
    SELECT 1 FROM workhorse_destinations AS d
    WHERE (d.tenant IS NULL OR d.tenant = j.tenant) AND d.disabled_at IS NULL
      AND (d.event_types IS NULL OR d.event_types ? ('job.' || j.state))
)

-- fragment: event_destination
-- Destination d receives event e.
(d.tenant IS NULL OR d.tenant = e.tenant) AND d.disabled_at IS NULL
AND (d.event_types IS NULL OR d.event_types ? e.type)

-- fragment: workflow_event_insert
-- The events of the workflows in a CTE `workflow_now` (whole rows, each settled) for subscribed
-- tenants and types: each workflow as the API shows it, with its steps from a CTE
-- `step_now(id, workflow_id, step_key, task, state, started_at, finished_at)` summarised as the
-- API does (over 64 KiB of steps: null, named in truncated).
INSERT INTO workhorse_events (tenant, type, job_id, occurred_at, data)
SELECT w.tenant, 'workflow.' || w.state, NULL, %(now)s,
    jsonb_build_object(
        'id', w.id, 'tenant', w.tenant, 'name', w.name, 'state', w.state,
        'steps_total', w.steps, 'steps_left', w.steps_left, 'steps_dead', w.steps_dead,
        'steps_cancelled', w.steps_cancelled, 'created_at', w.created_at,
        'finished_at', w.finished_at,
        'steps', CASE WHEN octet_length(s.steps::text) <= 65536 THEN s.steps END,
        'truncated', CASE WHEN octet_length(s.steps::text) > 65536 THEN '["steps"]'::jsonb
                          ELSE '[]'::jsonb END)
FROM workflow_now AS w
CROSS JOIN LATERAL (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'key', t.step_key, 'job_id', t.id, 'task', t.task, 'state', t.state,
        'after', (SELECT coalesce(jsonb_agg(e.parent ORDER BY e.parent), '[]'::jsonb)
                  FROM workhorse_job_edges AS e WHERE e.child = t.id),
        'started_at', t.started_at, 'finished_at', t.finished_at) ORDER BY t.id), '[]'::jsonb)
        AS steps
    FROM step_now AS t WHERE t.workflow_id = w.id
) AS s
WHERE EXISTS (
    SELECT 1 FROM workhorse_destinations AS d
    WHERE (d.tenant IS NULL OR d.tenant = w.tenant) AND d.disabled_at IS NULL
      AND (d.event_types IS NULL OR d.event_types ? ('workflow.' || w.state))
)
ORDER BY w.id
RETURNING id, tenant, type, job_id

-- name: workflow_event_record
-- The events of workflows :ids that settled earlier in this transaction.
WITH workflow_now AS (
    SELECT * FROM workhorse_workflows WHERE id = ANY(%(ids)s::bigint[]) AND state <> 'running'
), step_now AS (
    SELECT id, workflow_id, step_key, task, state, started_at, finished_at FROM workhorse_jobs
    WHERE workflow_id = ANY(%(ids)s::bigint[])
)
-- include: workflow_event_insert

-- name: event_record
-- The events of jobs that changed state in this transaction, for subscribed tenants and types.
INSERT INTO workhorse_events (tenant, type, job_id, occurred_at, data)
SELECT j.tenant, 'job.' || j.state, j.id, %(now)s,
    -- include: event_job
FROM workhorse_jobs AS j
WHERE j.id = ANY(%(ids)s::bigint[])
  AND
  -- include: event_subscribed
ORDER BY j.id
RETURNING id

-- name: event_fan_out
-- One pending delivery per destination of each event.
INSERT INTO workhorse_deliveries (event_id, destination_id, tenant, job_id, next_at, created_at)
SELECT e.id, d.id, e.tenant, e.job_id, %(now)s, %(now)s
FROM workhorse_events AS e JOIN workhorse_destinations AS d ON
    -- include: event_destination
WHERE e.id = ANY(%(ids)s::bigint[])
ORDER BY e.id, d.id

-- name: event_list
SELECT * FROM workhorse_events
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s) AND id > %(after_id)s
ORDER BY id
LIMIT %(limit)s

-- name: destination_insert
INSERT INTO workhorse_destinations
    (tenant, kind, url, options, event_types, secrets, created_at, updated_at)
VALUES (%(tenant)s, %(kind)s, %(url)s, %(options)s::jsonb, %(event_types)s::jsonb,
        %(secrets)s::jsonb, %(now)s, %(now)s)
RETURNING *

-- name: destination_list
SELECT * FROM workhorse_destinations
WHERE (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
  AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
ORDER BY id

-- name: destination_delete
-- Its deliveries go with it (ON DELETE CASCADE); its events stay for the others.
DELETE FROM workhorse_destinations
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)

-- name: destination_update
UPDATE workhorse_destinations
SET disabled_at = CASE WHEN %(enable)s THEN NULL ELSE disabled_at END,
    disabled_reason = CASE WHEN %(enable)s THEN NULL ELSE disabled_reason END,
    secrets = COALESCE(%(secrets)s::jsonb, secrets),
    updated_at = %(now)s
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
RETURNING *

-- name: destination_disable
UPDATE workhorse_destinations
SET disabled_at = %(now)s, disabled_reason = %(reason)s, updated_at = %(now)s
WHERE id = %(id)s AND disabled_at IS NULL

-- name: delivery_claim
-- Due deliveries to enabled destinations, each the oldest pending event of its job for its
-- destination (a job's events arrive in order). next_at becomes the claim's lease: a dispatcher
-- that dies leaves its deliveries due again when it ends. SKIP LOCKED, in each destination's walk
-- so that locked rows are skipped before its LIMIT: dispatchers never wait on each other, never
-- take the same row, and a second one finds the rows after the first one's. (A row locked there
-- but cut by the outer LIMIT is only skipped by others until this statement's transaction ends.)
-- Planner lesson: joined to the destinations and sorted as a whole, the due rows were all read
-- and sorted on every claim (tens of milliseconds of CPU per claim with a few thousand waiting, in
-- the database, where no lower priority of the dispatcher's process reaches). Walking each
-- enabled destination's rows in index order under a LIMIT reads at most `limit` rows of each
-- (plus those held back by their job's order), however long the outbox is; deliveries of a
-- disabled destination are never read. The job's order is checked as a min() per row read, which
-- only the order index (destination, job, event) answers in one probe: a NOT EXISTS became an
-- anti join that, on a table filled faster than it is analyzed, scanned every pending row of the
-- destination for each row read.
WITH candidate AS (
    SELECT c.id, c.next_at FROM workhorse_destinations AS t
    CROSS JOIN LATERAL (
        SELECT d.id, d.next_at FROM workhorse_deliveries AS d
        WHERE d.destination_id = t.id AND d.state = 'pending' AND d.next_at <= %(now)s
          AND (d.job_id IS NULL OR d.event_id = (
              SELECT min(p.event_id) FROM workhorse_deliveries AS p
              WHERE p.state = 'pending' AND p.destination_id = d.destination_id
                AND p.job_id = d.job_id))
        ORDER BY d.next_at, d.id
        LIMIT %(limit)s
        FOR UPDATE OF d SKIP LOCKED  -- before the LIMIT: racing dispatchers take different rows
    ) AS c
    WHERE t.disabled_at IS NULL
    ORDER BY c.next_at, c.id
    LIMIT %(limit)s
)
UPDATE workhorse_deliveries AS d
SET attempts = d.attempts + 1, next_at = %(lease_until)s, claim_token = %(token)s
FROM candidate
WHERE d.id = candidate.id
RETURNING d.id

-- name: delivery_lazy_commit
-- The dispatcher's transactions do not wait for their commit to reach the disk: losing one in a
-- crash costs a delivery sent again (at least once), never an event. Their WAL flushes would
-- otherwise queue with the jobs' commits on the same disk.
SET LOCAL synchronous_commit = off

-- name: delivery_claimed
SELECT d.id, d.attempts,
       e.id AS event_id, e.tenant, e.type, e.job_id, e.data, e.occurred_at,
       t.id AS destination_id, t.tenant AS destination_tenant, t.kind, t.url, t.options,
       t.event_types, t.secrets, t.disabled_at, t.disabled_reason, t.created_at
FROM workhorse_deliveries AS d
JOIN workhorse_events AS e ON e.id = d.event_id
JOIN workhorse_destinations AS t ON t.id = d.destination_id
WHERE d.id = ANY(%(ids)s::bigint[])
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
    delivered_at = CASE WHEN o.delivered THEN %(now)s END
FROM jsonb_to_recordset(%(outcomes)s::jsonb)
     AS o(id bigint, token text, delivered boolean, status integer, error text,
          next_at timestamptz)
WHERE d.id = o.id AND d.claim_token = o.token AND d.state = 'pending'
RETURNING d.id, d.destination_id, d.last_status, d.last_error

-- name: delivery_attempt_insert
-- The delivery log: one row per outcome written, from delivery_finish's rows.
INSERT INTO workhorse_delivery_attempts (delivery_id, at, status, error)
SELECT a.id, %(now)s, a.status, a.error
FROM jsonb_to_recordset(%(attempts)s::jsonb) AS a(id bigint, status integer, error text)
ORDER BY a.id

-- name: delivery_list
SELECT d.*, e.type AS event_type
FROM workhorse_deliveries AS d JOIN workhorse_events AS e ON e.id = d.event_id
WHERE (%(tenant)s::text IS NULL OR d.tenant = %(tenant)s)
  AND (%(destination_id)s::bigint IS NULL OR d.destination_id = %(destination_id)s)
  AND (%(state)s::text IS NULL OR d.state = %(state)s)
  AND (%(before_id)s::bigint IS NULL OR d.id < %(before_id)s)
ORDER BY d.id DESC
LIMIT %(limit)s

-- name: delivery_redeliver
UPDATE workhorse_deliveries
SET state = 'pending', attempts = 0, next_at = %(now)s, claim_token = NULL, delivered_at = NULL
WHERE id = %(id)s AND (%(tenant)s::text IS NULL OR tenant = %(tenant)s)
RETURNING id

-- name: delivery_get
SELECT d.*, e.type AS event_type
FROM workhorse_deliveries AS d JOIN workhorse_events AS e ON e.id = d.event_id
WHERE d.id = %(id)s

-- name: delivery_attempt_list
SELECT a.at, a.status, a.error
FROM workhorse_delivery_attempts AS a JOIN workhorse_deliveries AS d ON d.id = a.delivery_id
WHERE a.delivery_id = %(id)s AND (%(tenant)s::text IS NULL OR d.tenant = %(tenant)s)
ORDER BY a.id

-- name: delivery_backlog
SELECT t.kind, count(*) AS pending, min(d.created_at) AS oldest_at
FROM workhorse_deliveries AS d JOIN workhorse_destinations AS t ON t.id = d.destination_id
WHERE d.state = 'pending' AND d.created_at <= %(now)s
GROUP BY t.kind
ORDER BY t.kind

-- name: event_prune
-- Old events no destination waits for any more; their deliveries and delivery log go with them
-- (ON DELETE CASCADE). A pending delivery (a broker still down, an endpoint disabled) keeps its
-- event. A redelivery by hand that races this delete loses to it: the event goes, as it would
-- have a moment earlier.
DELETE FROM workhorse_events
WHERE id IN (
    SELECT e.id FROM workhorse_events AS e
    WHERE e.occurred_at < %(occurred_before)s
      AND NOT EXISTS (SELECT 1 FROM workhorse_deliveries AS d
                      WHERE d.event_id = e.id AND d.state = 'pending')
    ORDER BY e.occurred_at
    LIMIT %(limit)s
)

-- name: event_receive
-- The first receipt of an event id wins; a redelivery (even a racing one) inserts nothing.
INSERT INTO workhorse_inbound_events (tenant, id, type, job_ids, received_at)
VALUES (%(tenant)s, %(event_id)s, %(type)s, '[]', %(now)s)
ON CONFLICT DO NOTHING
RETURNING id

-- name: event_receive_jobs
UPDATE workhorse_inbound_events SET job_ids = %(job_ids)s::jsonb
WHERE tenant = %(tenant)s AND id = %(event_id)s

-- name: event_received
SELECT job_ids FROM workhorse_inbound_events WHERE tenant = %(tenant)s AND id = %(event_id)s

-- fragment: places_revived
-- Jobs retried by hand move from their day's partition back to workhorse_jobs_live: PostgreSQL
-- runs such a move as a delete and an insert, so no UPDATE trigger puts their places back in the
-- fair order (workhorse_jobs_return) and no statement INSERT trigger does either
-- (workhorse_jobs_arrive). The including block does it from a CTE `revived(queue, tenant)`.
placed AS (
    INSERT INTO workhorse_places AS p (queue, tenant)
    SELECT DISTINCT queue, tenant FROM revived
    ORDER BY queue, tenant
    ON CONFLICT (queue, tenant) DO UPDATE
    SET arrivals = p.arrivals + 1, held_until = NULL
)
