-- A subscription's billing address is its own record, and each related
-- record (delivery and billing address, meter, payment method) keeps its own
-- creation time (PRODUCT R9, issue 16). Rows made before keep '' and 0: the
-- API shows the delivery address and the subscription's time for them.
ALTER TABLE subscriptions ADD COLUMN billing_address_id TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN billing_street TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN billing_house_number TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN billing_zip TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN billing_city TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN billing_created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN address_created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN meter_created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN payment_created_at INTEGER NOT NULL DEFAULT 0;
