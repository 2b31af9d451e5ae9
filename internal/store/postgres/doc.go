// Package postgres is the PostgreSQL backend for replicated installations
// (PRODUCT O5): any number of nomosauth processes share one database. Rules
// that read a row and decide run under row locks (SELECT ... FOR UPDATE) in
// one transaction, so they hold across replicas (PRODUCT S3); the hot
// token-issuing insert is group-committed. Migrations are embedded and
// applied at open under an advisory lock. It imports store, domain and
// rowcodec (the column mapping both backends share), never another backend.
package postgres
