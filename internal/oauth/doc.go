// Package oauth is the protocol as pure code: it parses token requests and
// client credentials and decides each grant's outcome and the protected
// API's caller rules (caller.go: PRODUCT R1-R3), and the email rule of
// sign-in (email.go: PRODUCT A7). It imports domain, problem, the standard
// library and golang.org/x/net/idna (A-labels for internationalized email
// domains), never net/http: it sees url.Values and header strings, and
// time enters as a now argument.
package oauth
