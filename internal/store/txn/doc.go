// Package txn is the storage program written once: every store verb, with
// its decide-and-act shell (rotate a refresh token, redeem a code, count a
// one-time-code try, widen or revoke a grant, the cleanup table) and the
// group-commit loop, runs here against a small per-backend port: a
// transaction runner, a read querier and the dialect's row-lock clauses.
// The backends (store/sqlite, store/postgres) bring the port and their
// migrations; they hold no logic of their own.
//
// The SQL uses $n placeholders, which both PostgreSQL and SQLite accept,
// and the Dialect supplies what differs: FOR UPDATE and friends on
// PostgreSQL, nothing on SQLite, whose one writer already serialises every
// transaction. It imports store, domain and store/rowcodec only.
package txn
