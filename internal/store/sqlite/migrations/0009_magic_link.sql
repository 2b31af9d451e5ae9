-- PRODUCT A12: magic links an organization asks for on behalf of its
-- customers. Only the hash of each link's token is kept; a link is single
-- use (used_at) and short-lived (expires_at).
CREATE TABLE magic_links (
    hash        TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    org_id      TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    next        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX magic_links_expires ON magic_links (expires_at);
