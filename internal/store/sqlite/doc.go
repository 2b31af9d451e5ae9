// Package sqlite is the embedded default store: modernc.org/sqlite (no
// cgo), WAL mode, synchronous=FULL. It brings only the port of store/txn:
// a read pool (query_only, statements prepared once), one writer goroutine
// that commits many requests' writes in one transaction and one fsync
// (group commit, each write in its own savepoint), driver errors
// classified by SQLite's result codes, a background passive checkpointer
// that keeps the WAL short, and its embedded migrations, applied at open by
// store/migrate. The single writer serialises every transaction, so its
// dialect needs no row locks. It imports store, domain, rowcodec, txn and
// migrate; never another backend.
package sqlite
