// Package view serves the protected API's reads of customers and
// subscriptions from memory (issue 17): per organization, every customer
// and subscription, loaded on first use and answered with the same
// semantics as the store's SQL (PRODUCT R3 tenancy, R7 newest-first
// cursor pages, R9 filters). A view is dropped at once by this process's
// own writes (Writes) and by other processes' within --revocation-poll
// (maintain polls the store's change counters). The views share a memory
// ceiling: the least recently used organizations are evicted beyond it,
// and an organization that does not fit alone is read from the database.
// Prices stay in the database. It imports domain and store, never a
// surface.
package view
