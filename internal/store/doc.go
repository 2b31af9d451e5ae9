// Package store declares storage in domain verbs, as small role interfaces
// (Directory, Customers, Families, Grants, Journey, Keys, Housekeeping) that
// Store embeds, and its sentinel errors. Consumers declare the few methods
// they use. The decide-and-act logic is written once in store/txn; the
// backends (store/sqlite, store/postgres) bring a transaction port, their SQL
// dialect and their migrations. It imports domain only.
package store
