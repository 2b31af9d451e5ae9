-- Indexes that only the rare rows need: a live family (revoked_at = 0)
-- no longer costs an index entry on every token issued.
DROP INDEX families_revoked;
CREATE INDEX families_revoked ON families(revoked_at) WHERE revoked_at > 0;
