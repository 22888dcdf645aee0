-- Events (the transactional outbox). A job's transition writes its event, and one delivery per
-- subscribed destination, in the transition's own transaction: an event exists if and only if its
-- transition committed. Jobs of tenants without subscribers write nothing here. Times are epoch
-- seconds, JSON is text.

-- Where events go: a tenant's webhook endpoints, or brokers (NATS, RabbitMQ). A NULL tenant is an
-- operator's sink that receives every tenant's events; NULL event_types receives every type.
CREATE TABLE workhorse_destinations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          text,
    kind            TEXT        NOT NULL CHECK (kind IN ('webhook', 'nats', 'amqp')),
    url             TEXT        NOT NULL,
    options         TEXT        NOT NULL DEFAULT '{}',
    event_types     TEXT,
    secrets         TEXT        NOT NULL DEFAULT '[]',
    disabled_at     REAL,
    disabled_reason text,
    created_at      REAL        NOT NULL,
    updated_at      REAL        NOT NULL
);
CREATE INDEX workhorse_destinations_tenant ON workhorse_destinations (tenant, id);

-- AUTOINCREMENT: an event id is never reused, even after the newest events are pruned.
CREATE TABLE workhorse_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT        NOT NULL,
    type        TEXT        NOT NULL,
    job_id      INTEGER,
    data        TEXT        NOT NULL,
    occurred_at REAL        NOT NULL
);
CREATE INDEX workhorse_events_tenant ON workhorse_events (tenant, id);
CREATE INDEX workhorse_events_occurred ON workhorse_events (occurred_at);

-- One row per (event, destination): the dispatcher claims due pending rows (next_at doubles as
-- the claim's lease), a job's events reach a destination in event order.
CREATE TABLE workhorse_deliveries (
    id             INTEGER PRIMARY KEY,
    event_id       INTEGER      NOT NULL REFERENCES workhorse_events ON DELETE CASCADE,
    destination_id INTEGER      NOT NULL REFERENCES workhorse_destinations ON DELETE CASCADE,
    tenant         TEXT        NOT NULL,
    job_id         INTEGER,
    state          TEXT        NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts       INTEGER     NOT NULL DEFAULT 0,
    next_at        REAL        NOT NULL,
    claim_token    text,
    last_status    INTEGER,
    last_error     text,
    delivered_at   REAL,
    created_at     REAL        NOT NULL
);
CREATE INDEX workhorse_deliveries_due ON workhorse_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX workhorse_deliveries_order
    ON workhorse_deliveries (destination_id, job_id, event_id) WHERE state = 'pending';
CREATE INDEX workhorse_deliveries_tenant ON workhorse_deliveries (tenant, id);
CREATE INDEX workhorse_deliveries_event ON workhorse_deliveries (event_id);

-- The delivery log: every attempt, its response code or error.
CREATE TABLE workhorse_delivery_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER     NOT NULL REFERENCES workhorse_deliveries ON DELETE CASCADE,
    at          REAL        NOT NULL,
    status      INTEGER,
    error       TEXT
);
CREATE INDEX workhorse_delivery_attempts_delivery ON workhorse_delivery_attempts (delivery_id, id);

-- Events in (triggers): an event id seen once per tenant, so a redelivered message enqueues
-- nothing new.
CREATE TABLE workhorse_inbound_events (
    tenant      TEXT        NOT NULL,
    id          TEXT        NOT NULL,
    type        TEXT        NOT NULL,
    job_ids     TEXT        NOT NULL,
    received_at REAL        NOT NULL,
    PRIMARY KEY (tenant, id)
);
