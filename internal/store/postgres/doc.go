// Package postgres is the PostgreSQL backend for replicated installations
// (PRODUCT O5): any number of nomosauth processes share one database. It
// brings only the port of store/txn (a pgx pool, READ COMMITTED
// transactions retried on serialization failures, driver errors classified
// by SQLSTATE), its dialect (the row locks FOR UPDATE, FOR SHARE and FOR KEY
// SHARE, under which read-and-decide rules hold across replicas, PRODUCT S3),
// the group commit of new families as multi-row inserts, and its embedded
// migrations, which store/migrate applies at open under an advisory lock.
// It imports store, domain, rowcodec, txn and migrate; never another backend.
package postgres
