-- Dependencies and workflows (see the PostgreSQL migration of the same name for the design).
-- SQLite cannot alter a CHECK constraint; widening one changes no stored row, so the table's
-- declared text is edited in place (SQLite's documented procedure for such changes) after the
-- columns are added, and the schema is reloaded at once.
ALTER TABLE workhorse_jobs ADD COLUMN pending_parents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workhorse_jobs ADD COLUMN has_children INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workhorse_jobs ADD COLUMN run_on_parent_failure INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workhorse_jobs ADD COLUMN cancelled_by INTEGER;
ALTER TABLE workhorse_jobs ADD COLUMN workflow_id INTEGER;
ALTER TABLE workhorse_jobs ADD COLUMN step_key TEXT;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, '''cancelled'')', '''cancelled'', ''blocked'')')
WHERE type = 'table' AND name = 'workhorse_jobs';
PRAGMA writable_schema = RESET;

CREATE TABLE workhorse_job_edges (
    parent INTEGER NOT NULL,
    child  INTEGER NOT NULL,
    PRIMARY KEY (parent, child)
) WITHOUT ROWID;
CREATE INDEX workhorse_job_edges_child ON workhorse_job_edges (child);
CREATE INDEX workhorse_jobs_cancelled_by
    ON workhorse_jobs (cancelled_by) WHERE cancelled_by IS NOT NULL;
CREATE INDEX workhorse_jobs_workflow
    ON workhorse_jobs (workflow_id) WHERE workflow_id IS NOT NULL;
-- The gauges count blocked jobs through it, never the whole table.
CREATE INDEX workhorse_jobs_blocked ON workhorse_jobs (tenant, queue) WHERE state = 'blocked';

CREATE TABLE workhorse_workflows (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN
                        ('running', 'succeeded', 'failed', 'cancelled')),
    steps           INTEGER NOT NULL,
    steps_left      INTEGER NOT NULL,
    steps_dead      INTEGER NOT NULL DEFAULT 0,
    steps_cancelled INTEGER NOT NULL DEFAULT 0,
    created_at      REAL    NOT NULL,
    finished_at     REAL,
    updated_at      REAL    NOT NULL
);
CREATE INDEX workhorse_workflows_tenant ON workhorse_workflows (tenant, id);
