// Package server owns the token, revocation and introspection endpoints
// (PRODUCT T1-T10), the metadata and JWKS documents,
// health and readiness, and the root handler: the middleware chain around
// the one mux on which every surface (this one, pages, api) mounts its own
// routes with Mount(mux). It never imports pages or api.
package server
