-- PRODUCT A7: an email's key folds ASCII letters only. Keys written before
-- were Go's strings.ToLower, which folds Unicode too (the Kelvin sign U+212A
-- became k, so a look-alike address found another customer). PostgreSQL's
-- lower() depends on the database's locale, so translate() folds A-Z and
-- nothing else. Two steps, because UNIQUE is checked row by row: first
-- every key becomes the row's id (ids hold no "@", emails do, so nothing
-- meets), then the new key. The new fold is finer than the old one, so keys
-- nomosauth wrote cannot collide; rows written by hand that differ only in
-- ASCII case would, and then this migration fails on the unique constraint,
-- changes nothing, and the start stops naming this file (the README's
-- "Emails" section says how to find and merge them).
UPDATE customers SET email_key = id;
UPDATE customers SET email_key = translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');

-- PRODUCT A9: only a first-party app may skip consent with flow_type=login.
ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT FALSE;
