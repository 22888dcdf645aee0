-- Tenants: weights and quotas, recent usage for fair share, the start-rate token bucket.
-- A tenant's row appears when it is configured or when its first job finishes.
CREATE TABLE workhorse_tenants (
    name        text             PRIMARY KEY,
    weight      double precision NOT NULL DEFAULT 1 CHECK (weight > 0),
    max_running integer          CHECK (max_running >= 0),
    max_queued  integer          CHECK (max_queued >= 0),
    rate        double precision CHECK (rate > 0),
    burst       double precision CHECK (burst >= 1),
    paused      boolean          NOT NULL DEFAULT false,
    usage       double precision NOT NULL DEFAULT 0,
    usage_at    timestamptz      NOT NULL,
    mean_cost   double precision,
    tokens      double precision,
    tokens_at   timestamptz,
    created_at  timestamptz      NOT NULL,
    updated_at  timestamptz      NOT NULL
);

ALTER TABLE workhorse_jobs ADD COLUMN concurrency_key text;
ALTER TABLE workhorse_jobs ADD COLUMN concurrency_limit integer CHECK (concurrency_limit >= 1);

-- Fair claiming walks tenants first: the claim index is led by tenant (a skip scan over it finds
-- the tenants with queued jobs in as many probes as there are tenants, whatever the backlog).
DROP INDEX workhorse_jobs_claim;
CREATE INDEX workhorse_jobs_claim
    ON workhorse_jobs (tenant, queue, priority DESC, run_at, id) WHERE state = 'queued';
-- "Is anything queued in my queues?" for idle workers, without walking every tenant.
CREATE INDEX workhorse_jobs_queued ON workhorse_jobs (queue) WHERE state = 'queued';
-- Running jobs per tenant and per concurrency key: bounded by the slots in use, not the backlog.
CREATE INDEX workhorse_jobs_running
    ON workhorse_jobs (tenant, concurrency_key) WHERE state = 'running';
-- Waiting jobs per tenant (max_queued) besides the queued ones the claim index covers.
CREATE INDEX workhorse_jobs_waiting
    ON workhorse_jobs (tenant) WHERE state IN ('scheduled', 'retrying');
