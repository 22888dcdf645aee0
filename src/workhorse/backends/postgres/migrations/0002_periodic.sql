-- The last slot each periodic schedule fired: the compare-and-set that makes cron exactly-once.
CREATE TABLE workhorse_periodic (
    name       text        PRIMARY KEY,
    last_slot  timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
