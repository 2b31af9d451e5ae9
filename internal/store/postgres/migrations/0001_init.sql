-- The whole schema as of issue 5. Times are Unix microseconds, UTC; 0
-- stands for "not set", as in the SQLite backend, so both keep exactly the
-- same precision.
CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE clients (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id),
    name                TEXT NOT NULL,
    public              BOOLEAN NOT NULL,
    scopes              TEXT NOT NULL,
    redirect_uris       JSONB NOT NULL,
    default_api_version TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL
);
CREATE INDEX clients_org ON clients(org_id, created_at);

CREATE TABLE client_secrets (
    hash       TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
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
    created_at   BIGINT NOT NULL
);
CREATE INDEX customers_org ON customers(org_id, created_at);

CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    status          TEXT NOT NULL,
    type            TEXT NOT NULL,
    plan            TEXT NOT NULL,
    number          TEXT NOT NULL,
    estimated_usage BIGINT NOT NULL,
    address_id      TEXT NOT NULL,
    street          TEXT NOT NULL,
    house_number    TEXT NOT NULL,
    zip             TEXT NOT NULL,
    city            TEXT NOT NULL,
    meter_id        TEXT NOT NULL,
    meter_number    TEXT NOT NULL,
    meter_type      TEXT NOT NULL,
    melo            TEXT NOT NULL,
    malo            TEXT NOT NULL,
    payment_id      TEXT NOT NULL,
    iban_masked     TEXT NOT NULL,
    account_holder  TEXT NOT NULL,
    start_date      BIGINT NOT NULL,
    end_date        BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX subscriptions_org ON subscriptions(org_id, created_at);
CREATE INDEX subscriptions_customer ON subscriptions(customer_id, created_at);

CREATE TABLE prices (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    at              BIGINT NOT NULL,
    electricity     BIGINT NOT NULL,
    grid            BIGINT NOT NULL,
    levies          BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, at)
);

CREATE TABLE families (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    org_id      TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    grant_id    TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL
);
CREATE INDEX families_revoked ON families(revoked_at) WHERE revoked_at <> 0;
CREATE INDEX families_grant ON families(grant_id) WHERE grant_id <> '';

CREATE TABLE refresh_tokens (
    hash        TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL REFERENCES families(id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    rotated_at  BIGINT NOT NULL,
    replaced_by TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);

CREATE TABLE signing_keys (
    id              TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    private_der     BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    retired_at      BIGINT NOT NULL,
    published_until BIGINT NOT NULL
);
-- At most one active key, so replicas starting together create one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at)) WHERE retired_at = 0;

CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    client_id   TEXT NOT NULL REFERENCES clients(id),
    org_id      TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL
);
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
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used_at          BIGINT NOT NULL,
    family_id        TEXT NOT NULL
);
CREATE INDEX auth_codes_expires ON auth_codes(expires_at);

CREATE TABLE sessions (
    hash         TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE one_time_codes (
    id            TEXT PRIMARY KEY,
    browser_hash  TEXT NOT NULL,
    email         TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT NOT NULL,
    signup_org_id TEXT NOT NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL
);
CREATE INDEX one_time_codes_browser ON one_time_codes(browser_hash, created_at);
CREATE INDEX one_time_codes_expires ON one_time_codes(expires_at);
