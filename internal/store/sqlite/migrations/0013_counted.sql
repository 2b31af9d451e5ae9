-- Counted refresh tokens: a family's refresh tokens are no rows but
-- generations, named by a token under a MAC of the server's refresh key.
-- generation is the live one (0: the family's tokens are rows, from a
-- release before, or it has none, a tombstone), issued at generation_at;
-- live_until (sealed_until before) is when the family's live token, sealed
-- or counted, dies: the row stays at least until then.
ALTER TABLE families ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE families ADD COLUMN generation_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE families RENAME COLUMN sealed_until TO live_until;
