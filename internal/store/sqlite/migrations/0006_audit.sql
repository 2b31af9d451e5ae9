-- PRODUCT O8: the audit log. Rows are appended in the transaction of the
-- change they record and never changed: an UPDATE is refused (SQLite has
-- no TRUNCATE). Cleanup deletes rows past their retention (O6), so DELETE
-- stays allowed.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    action      TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    client_id   TEXT NOT NULL DEFAULT '',
    customer_id TEXT NOT NULL DEFAULT '',
    source_addr TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_client ON audit_events (client_id, id) WHERE client_id <> '';
CREATE INDEX audit_events_customer ON audit_events (customer_id, id) WHERE customer_id <> '';
CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
