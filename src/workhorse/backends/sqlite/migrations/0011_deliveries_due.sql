-- Each destination's due deliveries in order, so that a claim walks the enabled destinations'
-- rows only (as the PostgreSQL claim does with migration 0012): the pending deliveries of a
-- disabled destination, however many, are never read.
CREATE INDEX workhorse_deliveries_destination_due
    ON workhorse_deliveries (destination_id, next_at) WHERE state = 'pending';
