// Package storetest is the conformance suite every Store backend runs, its
// sub-tests in parallel, each on a fresh store. It uses the store.Store
// interface, and an Inspector for what only tests need (a family and its
// tokens, a direct revocation) through the backend's port.
package storetest
