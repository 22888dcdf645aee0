-- The claim index leads with the queue: a claim's tenant skip scan visits only the tenants with
-- work in the worker's queues, the candidate fetch is one range of it, and "is anything queued
-- here?" is its first entry — so the separate queue index goes, one index fewer on every insert.
DROP INDEX workhorse_jobs_claim;
DROP INDEX workhorse_jobs_queued;
CREATE INDEX workhorse_jobs_claim
    ON workhorse_jobs (queue, tenant, priority DESC, run_at, id) WHERE state = 'queued';

-- The reaper finds expired leases among the running jobs (as many as the slots in use) through
-- the running index; a lease index cost an entry on every claim and made every heartbeat a
-- non-HOT update.
DROP INDEX workhorse_jobs_lease;

-- A job row changes state three to five times in its life, and each change leaves a dead tuple
-- and dead index entries that claims must step over until vacuum removes them: vacuum the jobs
-- table after 1 % of its rows changed (not the default 20 %), without cost-based pauses.
ALTER TABLE workhorse_jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);
