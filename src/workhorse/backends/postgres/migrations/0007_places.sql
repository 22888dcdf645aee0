-- Places in the fair order: one row per (queue, tenant) with queued work, so that a claim reads
-- the few tenants at the front of workhorse_places_order instead of visiting every tenant.
-- `place` is the tenant's usage per unit of weight in a time-invariant form,
-- ln(usage / weight) + t / window (t in epoch seconds): decay moves every tenant alike, so the
-- stored order stays right as time passes and only the tenants a claim serves are rewritten.
-- A new place sorts first (-1e300): a tenant that arrives is looked at by the next claim.
-- `held_until`: the tenant is paused or at a quota; its place leaves the front until then.
-- `arrivals` counts enqueues: a claim removes a drained place only if none arrived since it read
-- the row, and never waits for a row an enqueuer holds (see claim_places_settle).
CREATE TABLE workhorse_places (
    queue      text             NOT NULL,
    tenant     text             NOT NULL,
    place      double precision NOT NULL DEFAULT -1e300,
    held_until timestamptz,
    arrivals   bigint           NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, tenant)
);
CREATE INDEX workhorse_places_order
    ON workhorse_places (queue, place, tenant) WHERE held_until IS NULL;
CREATE INDEX workhorse_places_held
    ON workhorse_places (queue, held_until) WHERE held_until IS NOT NULL;
CREATE INDEX workhorse_places_tenant
    ON workhorse_places (tenant) WHERE held_until IS NOT NULL;
-- Every claim rewrites the places it serves: vacuum and analyze after 1 % of the rows changed.
-- Planner lesson: without fresh statistics (a table that grew from empty to 100,000 places since
-- its last analyze), the front read is planned as a bitmap scan and a sort of every place, 70 ms
-- instead of 1 ms, where the order index read in order stops after `front` rows.
ALTER TABLE workhorse_places SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_vacuum_cost_delay = 0
);

INSERT INTO workhorse_places (queue, tenant)
SELECT DISTINCT queue, tenant FROM workhorse_jobs WHERE state = 'queued';

-- Work arrives: every statement that inserts queued jobs puts their (queue, tenant) places in the
-- order, once per statement. The upsert locks an existing row until the enqueue commits and bumps
-- `arrivals`, so a claim cannot remove a place whose new job it does not see yet.
CREATE FUNCTION workhorse_places_arrive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workhorse_places AS p (queue, tenant)
    SELECT DISTINCT queue, tenant FROM workhorse_arrived WHERE state = 'queued'
    ORDER BY queue, tenant
    ON CONFLICT (queue, tenant) DO UPDATE
    SET arrivals = p.arrivals + 1, held_until = NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER workhorse_jobs_arrive
    AFTER INSERT ON workhorse_jobs REFERENCING NEW TABLE AS workhorse_arrived
    FOR EACH STATEMENT EXECUTE FUNCTION workhorse_places_arrive();

-- A job queued again (promoted, released, retried, redriven): one row at a time, and only for
-- those rows, so claims, finishes and heartbeats do not run it.
CREATE FUNCTION workhorse_places_return() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workhorse_places AS p (queue, tenant) VALUES (NEW.queue, NEW.tenant)
    ON CONFLICT (queue, tenant) DO UPDATE
    SET arrivals = p.arrivals + 1, held_until = NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER workhorse_jobs_return
    AFTER UPDATE OF state ON workhorse_jobs
    FOR EACH ROW WHEN (NEW.state = 'queued' AND OLD.state <> 'queued')
    EXECUTE FUNCTION workhorse_places_return();

-- A tenant's settings or usage changed (resumed, quota raised, an attempt finished): its held
-- places come back to the front, where the next claim looks at them again. Rows an enqueuer holds
-- are skipped: its arrival clears the hold when it commits.
CREATE FUNCTION workhorse_places_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workhorse_places AS p SET held_until = NULL
    FROM (SELECT queue, tenant FROM workhorse_places
          WHERE tenant = NEW.name AND held_until IS NOT NULL
          ORDER BY queue
          FOR UPDATE SKIP LOCKED) AS h
    WHERE p.queue = h.queue AND p.tenant = h.tenant;
    RETURN NULL;
END
$$;
CREATE TRIGGER workhorse_tenants_release
    AFTER UPDATE OF weight, max_running, rate, burst, paused, usage ON workhorse_tenants
    FOR EACH ROW EXECUTE FUNCTION workhorse_places_release();
