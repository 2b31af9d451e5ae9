// Package store declares the Store interface in domain verbs and its sentinel
// errors. Backends live in sub-packages and import this one and domain only.
package store
