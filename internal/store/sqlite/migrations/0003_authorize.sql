-- The authorization code grant and the hosted customer journey (issue 4).
ALTER TABLE families ADD COLUMN grant_id TEXT NOT NULL DEFAULT '';
CREATE INDEX families_grant ON families(grant_id) WHERE grant_id <> '';

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    client_id   TEXT NOT NULL REFERENCES clients(id),
    org_id      TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL
);
-- One active grant per customer and client.
CREATE UNIQUE INDEX grants_active ON grants(customer_id, client_id) WHERE revoked_at = 0;

CREATE TABLE auth_codes (
    hash             TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    org_id           TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    grant_id         TEXT NOT NULL,
    redirect_uri     TEXT NOT NULL,
    challenge        TEXT NOT NULL,
    challenge_method TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER NOT NULL,
    family_id        TEXT NOT NULL
);
CREATE INDEX auth_codes_expires ON auth_codes(expires_at);

CREATE TABLE sessions (
    hash         TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE one_time_codes (
    id            TEXT PRIMARY KEY,
    browser_hash  TEXT NOT NULL,
    email         TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER NOT NULL,
    signup_org_id TEXT NOT NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL
);
CREATE INDEX one_time_codes_browser ON one_time_codes(browser_hash, created_at);
CREATE INDEX one_time_codes_expires ON one_time_codes(expires_at);
