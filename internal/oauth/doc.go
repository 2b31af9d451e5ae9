// Package oauth is the protocol as pure code: it parses token requests and
// client credentials and decides each grant's outcome and the protected
// API's caller rules (caller.go: PRODUCT R1-R3). It imports domain,
// problem and the standard library, never net/http: it sees url.Values and
// header strings, and time enters as a now argument.
package oauth
