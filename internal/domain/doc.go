// Package domain holds the records of PRODUCT.md's Domain table, their id
// prefixes and the scope set. It is plain data: it imports only the standard
// library and nothing of ours.
package domain
