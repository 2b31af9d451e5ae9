-- A change counter per organization (issue 17): every write that changes
-- what the token endpoint or the protected API reads of an organization
-- (the organization, its clients and their secrets, customers,
-- subscriptions, prices) adds one to its row in the same transaction, so
-- each process can drop what it holds in memory of an organization whose
-- counter moved since its last poll.
CREATE TABLE org_changes (
    org_id  TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
