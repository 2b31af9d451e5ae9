-- The protected API: subscription details of the Nomos shape, prices,
-- list indexes, and server-wide keys (the pagination cursor's MAC key).
ALTER TABLE subscriptions ADD COLUMN type TEXT NOT NULL DEFAULT 'consumption';
ALTER TABLE subscriptions ADD COLUMN plan TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN number TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN estimated_usage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN address_id TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN street TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN house_number TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN zip TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN meter_id TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN meter_number TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN meter_type TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN melo TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN malo TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN payment_id TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN iban_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN account_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_customer_created ON subscriptions(customer_id, created_at);

CREATE TABLE prices (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    electricity     INTEGER NOT NULL,
    grid            INTEGER NOT NULL,
    levies          INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, at)
) WITHOUT ROWID;

CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
