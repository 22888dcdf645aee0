-- Isolation and usage. Per call, where a job runs and its memory limit (NULL: as its task says);
-- per attempt, what it consumed ({attempt, wall, cpu, rss}, appended as attempts end, like
-- errors).
ALTER TABLE workhorse_jobs ADD COLUMN isolation TEXT CHECK (isolation IN ('inline', 'process'));
ALTER TABLE workhorse_jobs ADD COLUMN memory_limit INTEGER CHECK (memory_limit > 0);
ALTER TABLE workhorse_jobs ADD COLUMN usage TEXT NOT NULL DEFAULT '[]';

-- Hourly usage per tenant, task and queue (hour as epoch seconds), added to in the transaction
-- that writes each outcome, so reading a month of usage never scans the jobs table; pruning jobs
-- leaves it alone.
CREATE TABLE workhorse_usage (
    tenant        TEXT    NOT NULL,
    hour          REAL    NOT NULL,
    task          TEXT    NOT NULL,
    queue         TEXT    NOT NULL,
    jobs          INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    wall_seconds  REAL    NOT NULL DEFAULT 0,
    cpu_seconds   REAL    NOT NULL DEFAULT 0,
    slot_seconds  REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, hour, task, queue)
);
CREATE INDEX workhorse_usage_hour ON workhorse_usage (hour);
