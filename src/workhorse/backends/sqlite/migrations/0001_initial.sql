-- Jobs, leader leases and the worker registry.
-- Times are REAL seconds since the epoch (UTC); JSON columns hold TEXT.

CREATE TABLE workhorse_jobs (
    -- AUTOINCREMENT: ids are never reused after pruning, so a stale id never names a new job.
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant           TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
    task             TEXT    NOT NULL,
    args             TEXT    NOT NULL,
    kwargs           TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN
                         ('scheduled', 'queued', 'running', 'retrying', 'succeeded', 'dead',
                          'cancelled')),
    priority         INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    timeout          REAL,
    unique_key       TEXT,
    result           TEXT,
    errors           TEXT    NOT NULL DEFAULT '[]',
    progress         TEXT,
    lease_token      TEXT,
    worker_id        TEXT,
    lease_expires_at REAL,
    created_at       REAL    NOT NULL,
    run_at           REAL    NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    updated_at       REAL    NOT NULL
);

-- The claim walks this index in order and stops after `limit` rows, whatever the backlog.
CREATE INDEX workhorse_jobs_claim
    ON workhorse_jobs (queue, priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX workhorse_jobs_due
    ON workhorse_jobs (run_at) WHERE state IN ('scheduled', 'retrying');
CREATE INDEX workhorse_jobs_lease
    ON workhorse_jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX workhorse_jobs_worker
    ON workhorse_jobs (worker_id) WHERE state = 'running';
CREATE UNIQUE INDEX workhorse_jobs_unique
    ON workhorse_jobs (tenant, unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('succeeded', 'dead', 'cancelled');
CREATE INDEX workhorse_jobs_tenant ON workhorse_jobs (tenant, id);
CREATE INDEX workhorse_jobs_finished
    ON workhorse_jobs (finished_at) WHERE state IN ('succeeded', 'dead', 'cancelled');

CREATE TABLE workhorse_leaders (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at REAL NOT NULL
);

CREATE TABLE workhorse_workers (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    queues       TEXT    NOT NULL,
    concurrency  INTEGER NOT NULL,
    started_at   REAL    NOT NULL,
    last_seen_at REAL    NOT NULL
);
