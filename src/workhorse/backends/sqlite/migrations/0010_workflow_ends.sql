-- Workflows by how they stand (see the PostgreSQL migration of the same name): running ones
-- counted by the gauges, ended ones counted for the window and pruned past retention.
CREATE INDEX workhorse_workflows_running ON workhorse_workflows (id) WHERE state = 'running';
CREATE INDEX workhorse_workflows_finished
    ON workhorse_workflows (finished_at) WHERE finished_at IS NOT NULL;
