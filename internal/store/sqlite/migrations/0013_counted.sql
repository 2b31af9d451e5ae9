-- Counted refresh tokens: a family's refresh tokens are no rows but
-- generations, each named by a token under a MAC of a seal key.
-- generation is the live one (0: the family's tokens are rows, from a
-- release before, or it has none: a tombstone, or a client-credentials
-- family whose sealed first token is its generation 0), issued at
-- generation_at and dying at live_until. Clean-up keeps a row until both
-- live_until and sealed_until (its sealed first token's expiry, never
-- lowered) have passed. Columns are only added, so replicas of the
-- release before keep working on this schema during a rolling upgrade.
ALTER TABLE families ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE families ADD COLUMN generation_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE families ADD COLUMN live_until INTEGER NOT NULL DEFAULT 0;
