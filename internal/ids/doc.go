// Package ids owns randomness turned into names: record ids, client
// secrets, refresh tokens, authorization codes and one-time codes, and the
// hash under which secrets are stored and looked up (PRODUCT S1).
// Randomness enters through an io.Reader field, so tests can pin it.
//
// It imports only the standard library: nothing of ours, so every layer
// may use it.
package ids
