-- PRODUCT T11: the device authorization grant (RFC 8628). A client may use
-- it when the operator says so; each request keeps only the hashes of its
-- device code and (keyed) user code.
ALTER TABLE clients ADD COLUMN device_grant INTEGER NOT NULL DEFAULT 0;
CREATE TABLE device_requests (
    id               TEXT PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash   TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients(id),
    org_id           TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    device_name      TEXT NOT NULL DEFAULT '',
    requested_from   TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    interval_ms      INTEGER NOT NULL,
    last_polled_at   INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL,
    customer_id      TEXT NOT NULL DEFAULT '',
    grant_id         TEXT NOT NULL DEFAULT '',
    family_id        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_requests_expires ON device_requests (expires_at);
