-- The dispatcher's claim walks each enabled destination's due deliveries in order (destination,
-- then next_at, then id) and stops at its limit, so a claim costs the same whatever the size of
-- the outbox; the index on next_at alone made the planner read and sort every pending delivery.
DROP INDEX workhorse_deliveries_due;
CREATE INDEX workhorse_deliveries_due
    ON workhorse_deliveries (destination_id, next_at, id) WHERE state = 'pending';
