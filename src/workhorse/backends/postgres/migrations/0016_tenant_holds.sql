-- A tenant's held places come back to the front when its usage or settings change. The row
-- trigger that does it ran for every tenant row a finish wrote (its usage), about 10 µs each,
-- though almost no tenant has a held place: with each finished batch spread over 50 tenants it
-- was a third of the batch's per-tenant cost. `holds` marks the tenants that may have one (a
-- claim that holds a quota tenant's place sets it, under the tenant's row lock it already has);
-- the trigger runs for those, and for any change of settings (a paused tenant's places are held
-- until it is resumed).
ALTER TABLE workhorse_tenants ADD COLUMN holds boolean NOT NULL DEFAULT false;
UPDATE workhorse_tenants AS t SET holds = true
WHERE EXISTS (SELECT FROM workhorse_places AS p WHERE p.tenant = t.name AND p.held_until IS NOT NULL);

DROP TRIGGER workhorse_tenants_release ON workhorse_tenants;
DROP FUNCTION workhorse_places_release();
-- A tenant's settings or usage changed (resumed, quota raised, an attempt finished): its held
-- places come back to the front, where the next claim looks at them again. Rows an enqueuer holds
-- are skipped: its arrival clears the hold when it commits. Usage changes at every finish, so
-- the trigger runs on it only for a tenant that `holds` places (a claim that holds a quota
-- tenant's place marks it, under the row lock it has); it runs on every change of settings. It
-- runs before the row is written, so it clears the mark in the same write, unless a held place
-- was skipped (locked) and is still held.
CREATE FUNCTION workhorse_places_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workhorse_places AS p SET held_until = NULL
    FROM (SELECT queue, tenant FROM workhorse_places
          WHERE tenant = NEW.name AND held_until IS NOT NULL
          ORDER BY queue
          FOR UPDATE SKIP LOCKED) AS h
    WHERE p.queue = h.queue AND p.tenant = h.tenant;
    NEW.holds := EXISTS (SELECT FROM workhorse_places
                         WHERE tenant = NEW.name AND held_until IS NOT NULL);
    RETURN NEW;
END
$$;
CREATE TRIGGER workhorse_tenants_release
    BEFORE UPDATE OF weight, max_running, rate, burst, paused, usage ON workhorse_tenants
    FOR EACH ROW
    WHEN (OLD.holds
          OR OLD.weight IS DISTINCT FROM NEW.weight
          OR OLD.max_running IS DISTINCT FROM NEW.max_running
          OR OLD.rate IS DISTINCT FROM NEW.rate
          OR OLD.burst IS DISTINCT FROM NEW.burst
          OR OLD.paused IS DISTINCT FROM NEW.paused)
    EXECUTE FUNCTION workhorse_places_release();
