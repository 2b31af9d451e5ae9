-- A session a magic link started reaches only the customer's own area
-- (PRODUCT A12): connected apps and sign-out. The authorization and
-- device journeys ask such a browser for a one-time code, so the
-- organization's backend that holds the link cannot sign the customer in
-- to an app, consent for them, or vouch for their email.
ALTER TABLE sessions ADD COLUMN account_only INTEGER NOT NULL DEFAULT 0;
