// Package storetest is the conformance suite every Store backend runs. It
// uses only the store.Store interface.
package storetest
