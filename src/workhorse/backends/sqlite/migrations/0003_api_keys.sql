-- API keys and the HTTP API's idempotency keys.

-- A key's secret is shown once, at creation, and stored only as its SHA-256 (hex): the secret is
-- 256 random bits, so a fast hash is enough. `prefix` is public: it finds the row and names the
-- key in listings. `tenant` is NULL for an admin key.
CREATE TABLE workhorse_api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix       TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    tenant       TEXT,
    name         TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    last_used_at REAL,
    revoked_at   REAL
);

-- One row per Idempotency-Key seen: the hash of the request that used it first and the jobs that
-- request created. `scope` is the requesting key's tenant ('' for admin keys), so tenants never
-- see each other's keys. A row past `expires_at` is dead: the next request may take the key over.
CREATE TABLE workhorse_idempotency (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    job_ids      TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX workhorse_idempotency_expires ON workhorse_idempotency (expires_at);
