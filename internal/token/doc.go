// Package token owns access-token JWTs (mint and verify, RFC 9068), the
// signing key ring and its JWKS. Randomness enters through an io.Reader
// argument and a Generator field (ids.Generator in production). Random
// secrets and their hashes live in ids; the revoked set and the verified-
// token cache in revoke. It imports domain and the JOSE library, nothing
// else of ours.
package token
