// Package sqlite is the embedded default Store: modernc.org/sqlite (no cgo),
// WAL mode, synchronous=FULL, numbered migrations embedded and applied at
// open. Every write goes through one writer goroutine that commits many
// requests' writes in one transaction and one fsync (group commit). It
// imports store, domain and rowcodec (the column mapping both backends
// share), never another backend.
package sqlite
