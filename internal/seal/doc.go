// Package seal owns the self-contained first refresh token of a
// client-credentials family (issue 17): the family's id, client,
// organization, scope and issue time, sealed with AES-256-GCM under a
// key derived (HKDF-SHA-256) from a server key, whose id the token names,
// and the token's random salt, so issuing one writes nothing and
// any replica holding the key can open it. It keeps the keys (Ring: which
// seals, which still open) and the pure sealing and opening.
//
// It imports the standard library and domain only, so the token endpoint,
// the maintenance loop and the wiring may all use it.
package seal
