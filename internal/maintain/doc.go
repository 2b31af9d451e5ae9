// Package maintain is the serving process's background work: reloading
// signing keys another process rotated, syncing revocations made by other
// replicas (PRODUCT A11), forgetting what the process holds in memory of
// organizations other processes changed (their change counters, issue 17)
// and deleting expired rows (PRODUCT O6), each on its own interval, under
// one Run(ctx) error that cli runs beside the HTTP server.
//
// It imports domain, token and revoke, and declares the store methods it
// uses; never an HTTP surface (server, pages, api), httpx or cli.
package maintain
