-- Times are Unix microseconds, UTC; 0 stands for "not set".
CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE clients (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id),
    name                TEXT NOT NULL,
    public              INTEGER NOT NULL,
    scopes              TEXT NOT NULL,
    redirect_uris       TEXT NOT NULL,
    default_api_version TEXT NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);
CREATE INDEX clients_org ON clients(org_id, created_at);

CREATE TABLE client_secrets (
    hash       TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX client_secrets_client ON client_secrets(client_id);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    email        TEXT NOT NULL,
    email_key    TEXT NOT NULL UNIQUE,
    first_name   TEXT NOT NULL,
    last_name    TEXT NOT NULL,
    company_name TEXT NOT NULL,
    type         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX customers_org ON customers(org_id, created_at);

CREATE TABLE subscriptions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    status      TEXT NOT NULL,
    start_date  INTEGER NOT NULL,
    end_date    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions(customer_id);
CREATE INDEX subscriptions_org ON subscriptions(org_id, created_at);

CREATE TABLE families (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL
);
CREATE INDEX families_revoked ON families(revoked_at);

CREATE TABLE refresh_tokens (
    hash        TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    rotated_at  INTEGER NOT NULL,
    replaced_by TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);

CREATE TABLE signing_keys (
    id              TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    private_der     BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    retired_at      INTEGER NOT NULL,
    published_until INTEGER NOT NULL
);
