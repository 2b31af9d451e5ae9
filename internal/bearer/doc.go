// Package bearer is the one home of admitting an access token (PRODUCT R1,
// A11): read it from Authorization: Bearer, verify it, refuse a revoked
// family, and check its client is still enabled (through the in-memory
// client directory in serve). The protected API, /userinfo and
// introspection share it. It imports domain, oauth, problem, store and
// token, never a surface.
package bearer
