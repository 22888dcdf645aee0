-- Isolation and usage. Per call, where a job runs and its memory limit (NULL: as its task says);
-- per attempt, what it consumed ({attempt, wall, cpu, rss}, appended as attempts end, like
-- errors). Nullable columns, and a constant default, are catalog changes only: no table rewrite.
ALTER TABLE workhorse_jobs ADD COLUMN isolation text CHECK (isolation IN ('inline', 'process'));
ALTER TABLE workhorse_jobs ADD COLUMN memory_limit bigint CHECK (memory_limit > 0);
ALTER TABLE workhorse_jobs ADD COLUMN usage jsonb NOT NULL DEFAULT '[]';

-- Hourly usage per tenant, task and queue, added to in the transaction that writes each outcome,
-- so reading a month of usage never scans the jobs table; pruning jobs leaves it alone.
CREATE TABLE workhorse_usage (
    tenant        text             NOT NULL,
    hour          timestamptz      NOT NULL,
    task          text             NOT NULL,
    queue         text             NOT NULL,
    jobs          bigint           NOT NULL DEFAULT 0,
    attempts      bigint           NOT NULL DEFAULT 0,
    wall_seconds  double precision NOT NULL DEFAULT 0,
    cpu_seconds   double precision NOT NULL DEFAULT 0,
    slot_seconds  double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, hour, task, queue)
);
CREATE INDEX workhorse_usage_hour ON workhorse_usage (hour);
