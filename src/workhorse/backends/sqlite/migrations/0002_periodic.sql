-- The last slot each periodic schedule fired: the compare-and-set that makes cron exactly-once.
CREATE TABLE workhorse_periodic (
    name       TEXT PRIMARY KEY,
    last_slot  REAL NOT NULL,
    updated_at REAL NOT NULL
);
