-- Places in the fair order: one row per (queue, tenant) with queued work, so that a claim reads
-- the few tenants at the front of workhorse_places_order instead of visiting every tenant (see
-- the PostgreSQL migration 0007 for the meaning of each column). One writer at a time: no claim
-- can race an enqueue here, so `arrivals` stays 0 and an arrival is a plain insert.
CREATE TABLE workhorse_places (
    queue      TEXT    NOT NULL,
    tenant     TEXT    NOT NULL,
    place      REAL    NOT NULL DEFAULT -1e300,
    held_until REAL,
    arrivals   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, tenant)
) WITHOUT ROWID;
CREATE INDEX workhorse_places_order
    ON workhorse_places (queue, place, tenant) WHERE held_until IS NULL;
CREATE INDEX workhorse_places_held
    ON workhorse_places (queue, held_until) WHERE held_until IS NOT NULL;
CREATE INDEX workhorse_places_tenant
    ON workhorse_places (tenant) WHERE held_until IS NOT NULL;

INSERT INTO workhorse_places (queue, tenant)
SELECT DISTINCT queue, tenant FROM workhorse_jobs WHERE state = 'queued';

CREATE TRIGGER workhorse_jobs_arrive AFTER INSERT ON workhorse_jobs
WHEN NEW.state = 'queued'
BEGIN
    INSERT INTO workhorse_places (queue, tenant) VALUES (NEW.queue, NEW.tenant)
    ON CONFLICT (queue, tenant) DO NOTHING;
END;

CREATE TRIGGER workhorse_jobs_return AFTER UPDATE OF state ON workhorse_jobs
WHEN NEW.state = 'queued' AND OLD.state <> 'queued'
BEGIN
    INSERT INTO workhorse_places (queue, tenant) VALUES (NEW.queue, NEW.tenant)
    ON CONFLICT (queue, tenant) DO UPDATE SET held_until = NULL;
END;

CREATE TRIGGER workhorse_tenants_release
AFTER UPDATE OF weight, max_running, rate, burst, paused, usage ON workhorse_tenants
BEGIN
    UPDATE workhorse_places SET held_until = NULL
    WHERE tenant = NEW.name AND held_until IS NOT NULL;
END;
