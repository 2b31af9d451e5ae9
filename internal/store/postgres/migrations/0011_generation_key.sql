-- The seal key a family's live generation is minted under, chosen by the
-- replica that rotated it, so a retry on a replica that has not loaded
-- that key yet still mints the same token (it reloads the keys). Empty:
-- a generation stored before this column, minted under the key that
-- sealed at generation_at (a replica of the release before, rotating
-- during an upgrade, leaves the previous generation's key here; see
-- docs/deployment.md). Only added, as every change to families.
ALTER TABLE families ADD COLUMN generation_key TEXT NOT NULL DEFAULT '';
