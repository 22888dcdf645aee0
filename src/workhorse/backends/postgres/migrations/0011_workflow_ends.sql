-- Workflows by how they stand. The gauges count the running ones through the first index and
-- those that ended in their window through the second; the pruner finds ended workflows past
-- retention through the second. Neither reads the workflows' whole history.
CREATE INDEX workhorse_workflows_running ON workhorse_workflows (id) WHERE state = 'running';
CREATE INDEX workhorse_workflows_finished
    ON workhorse_workflows (finished_at) WHERE finished_at IS NOT NULL;
