-- PRODUCT T12: what the ID token of a code's redemption needs, stored with
-- the code: the nonce the app sent to /oauth/authorize ('' when none) and
-- when the customer signed in (auth_time, OpenID Connect Core §2).
ALTER TABLE auth_codes ADD COLUMN nonce TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
