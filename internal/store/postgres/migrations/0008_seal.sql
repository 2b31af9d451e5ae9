-- Issue 17: client-credentials families start with a sealed refresh token
-- and no row. seal_keys are the keys that seal them, rotated with overlap;
-- at most one has no successor yet (retires_at = 0), so replicas starting
-- together create one. A family row that exists only to refuse a sealed
-- token (a tombstone) stays until sealed_until, when that token dies.
CREATE TABLE seal_keys (
    id         TEXT PRIMARY KEY,
    secret     BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    seals_from BIGINT NOT NULL,
    retires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX seal_keys_one_current ON seal_keys ((retires_at)) WHERE retires_at = 0;

ALTER TABLE families ADD COLUMN sealed_until BIGINT NOT NULL DEFAULT 0;
