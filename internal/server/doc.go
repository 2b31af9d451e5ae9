// Package server owns the token endpoint, the metadata and JWKS documents,
// health and readiness, background maintenance, and the root mux, which
// receives the pages and API handlers from cli as plain http.Handler values.
// It never imports pages or api.
package server
