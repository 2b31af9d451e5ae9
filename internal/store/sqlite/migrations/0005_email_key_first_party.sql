-- PRODUCT A7: an email's key folds ASCII letters only. Keys written before
-- were Go's strings.ToLower, which folds Unicode too (the Kelvin sign U+212A
-- became k, so a look-alike address found another customer). SQLite's
-- built-in lower() folds ASCII only. Two steps, because UNIQUE is checked
-- row by row: first every key becomes the row's id (ids hold no "@", emails
-- do, so nothing meets), then the new key. The new fold is finer than the
-- old one, so keys nomosauth wrote cannot collide; rows written by hand
-- that differ only in ASCII case would, and then this migration fails on
-- the UNIQUE constraint, changes nothing, and the start stops naming this
-- file (the README's "Emails" section says how to find and merge them).
UPDATE customers SET email_key = id;
UPDATE customers SET email_key = lower(email);

-- PRODUCT A9: only a first-party app may skip consent with flow_type=login.
ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0;
