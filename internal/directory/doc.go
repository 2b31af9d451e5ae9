// Package directory holds clients and their secret hashes in memory, so
// client authentication at the token endpoint (PRODUCT T1) and the bearer
// gate's check that a token's client is still enabled (R1) read no
// database once warm (issue 17). Entries load on a miss and are dropped
// per organization: at once by this process's own writes (view.Writes
// calls Forget after the write returns) and by other processes' writes
// within --revocation-poll (maintain's poll of the store's change
// counters). Unknown ids are never cached, and the number of clients held
// is bounded. It imports domain and store, never a surface.
package directory
