// Package seal owns the refresh tokens a server can check without a token
// row. The self-contained first refresh token of a client-credentials
// family (issue 17): the family's id, client, organization, scope, issue
// time and expiry, sealed with AES-256-GCM under a key derived
// (HKDF-SHA-256) from a seal key, whose id the token names, and the
// token's random salt, so issuing one writes nothing and any replica
// holding the key can open it. And the counted tokens of every family
// after it: the family id and the token's generation under an
// HMAC-SHA-256 tag keyed from a seal key, so a family's row holds only
// which generation is live. It keeps the keys (Ring: which seals, which
// still open) and the pure sealing, counting and reading.
//
// It imports the standard library and domain only, so the token endpoint,
// the maintenance loop and the wiring may all use it.
package seal
