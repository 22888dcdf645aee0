-- Counts of ended jobs per (tenant, queue, state, day), kept by statement-level triggers (see
-- schema.sql), so that the queue counts (GET /v1/queues, the dashboard's overview) read the live
-- jobs and this table instead of every ended job kept. Filled here from the jobs kept: one scan.
CREATE TABLE workhorse_job_totals (
    tenant   text   NOT NULL,
    queue    text   NOT NULL,
    state    text   NOT NULL,
    ended_on date   NOT NULL,
    count    bigint NOT NULL
);
CREATE INDEX workhorse_job_totals_tenant ON workhorse_job_totals (tenant);

CREATE FUNCTION workhorse_job_totals_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO workhorse_job_totals (tenant, queue, state, ended_on, count)
        SELECT tenant, queue, state, ended_on, sum(n) FROM (
            SELECT tenant, queue, state, ended_on, 1 AS n FROM workhorse_totals_new
            WHERE ended_on <> 'infinity'
            UNION ALL
            SELECT tenant, queue, state, ended_on, -1 FROM workhorse_totals_old
            WHERE ended_on <> 'infinity'
        ) AS changed
        GROUP BY tenant, queue, state, ended_on
        HAVING sum(n) <> 0;
    ELSE
        INSERT INTO workhorse_job_totals (tenant, queue, state, ended_on, count)
        SELECT tenant, queue, state, ended_on, -count(*) FROM workhorse_totals_old
        WHERE ended_on <> 'infinity'
        GROUP BY tenant, queue, state, ended_on;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER workhorse_jobs_totals_update
    AFTER UPDATE ON workhorse_jobs
    REFERENCING OLD TABLE AS workhorse_totals_old NEW TABLE AS workhorse_totals_new
    FOR EACH STATEMENT EXECUTE FUNCTION workhorse_job_totals_add();
CREATE TRIGGER workhorse_jobs_totals_delete
    AFTER DELETE ON workhorse_jobs REFERENCING OLD TABLE AS workhorse_totals_old
    FOR EACH STATEMENT EXECUTE FUNCTION workhorse_job_totals_add();

-- The counts again from the jobs themselves: for the upgrade, and after jobs were inserted ended
-- or changed inside a partition by hand (no trigger sees those).
CREATE FUNCTION workhorse_job_totals_recount() RETURNS void LANGUAGE sql AS $$
    DELETE FROM workhorse_job_totals;
    INSERT INTO workhorse_job_totals (tenant, queue, state, ended_on, count)
    SELECT tenant, queue, state, ended_on, count(*) FROM workhorse_jobs
    WHERE ended_on <> 'infinity'
    GROUP BY tenant, queue, state, ended_on;
$$;

SELECT workhorse_job_totals_recount();

CREATE OR REPLACE FUNCTION workhorse_jobs_drop_day(before date)
RETURNS TABLE (day date, jobs bigint) LANGUAGE plpgsql AS $$
DECLARE
    part record;
    waited text := current_setting('lock_timeout');
BEGIN
    FOR part IN
        SELECT c.relname, to_date(right(c.relname, 8), 'YYYYMMDD') AS on_day,
               c.reltuples::bigint AS estimate
        FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'workhorse_jobs'::regclass
          AND c.relname ~ '^workhorse_jobs_[0-9]{8}$'
        ORDER BY c.relname
        LIMIT 1
    LOOP
        CONTINUE WHEN part.on_day >= before;
        day := part.on_day;
        jobs := part.estimate;
        IF jobs < 0 THEN
            EXECUTE format('SELECT count(*) FROM %I', part.relname) INTO jobs;
        END IF;
        -- The edges before the lock, so that the queue does not wait on them. A job enqueued
        -- meanwhile with a parent of that day keeps an edge to a pruned job, as it would if it
        -- named one pruned already: no parent result, and nothing to wait for.
        EXECUTE format('DELETE FROM workhorse_job_edges AS e
                        WHERE EXISTS (SELECT FROM %1$I AS j WHERE j.id = e.parent)
                           OR EXISTS (SELECT FROM %1$I AS j WHERE j.id = e.child)', part.relname);
        PERFORM set_config('lock_timeout', '500ms', true);
        LOCK TABLE workhorse_jobs IN ACCESS EXCLUSIVE MODE;
        PERFORM set_config('lock_timeout', waited, true);
        EXECUTE format('DROP TABLE %I', part.relname);
        -- DROP TABLE fires no trigger: the day's counts go with it.
        DELETE FROM workhorse_job_totals WHERE ended_on = part.on_day;
        RETURN NEXT;
    END LOOP;
END
$$;
