-- A job queued again puts its place back in the order once per transaction, not once per row.
-- Releasing 10,000 children of one workflow step queues them in one statement, and the row
-- trigger ran 10,000 upserts of the same place: each wrote a new version of that row, and each
-- next upsert walked the versions before it (1.0-1.75 s of a 1.3-2.2 s release). The bump of
-- `arrivals` tells a claim that work arrived since it read the place; one bump per transaction
-- says so as well as many. A place this transaction already wrote (its xmin is ours) and did
-- not hold is left as it is.
CREATE OR REPLACE FUNCTION workhorse_places_return() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workhorse_places AS p (queue, tenant) VALUES (NEW.queue, NEW.tenant)
    ON CONFLICT (queue, tenant) DO UPDATE
    SET arrivals = p.arrivals + 1, held_until = NULL
    WHERE p.xmin <> pg_current_xact_id()::xid OR p.held_until IS NOT NULL;
    RETURN NULL;
END
$$;
