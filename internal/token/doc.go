// Package token owns access-token JWTs (mint and verify, RFC 9068), the
// signing key ring and its JWKS, and random secrets and their hashes.
// Randomness enters through an io.Reader field. It imports domain and the
// JOSE library, nothing else of ours.
package token
