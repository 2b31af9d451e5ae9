// Package api is the protected API (PRODUCT R1-R7): the bearer check, API
// versions, rate limits, and the customers, subscriptions and prices
// endpoints in the Nomos OpenAPI shapes. The scope and tenant rules (R1-R3)
// are decided in oauth; the handlers parse, load, ask oauth and respond.
//
// It imports httpx, oauth, revoke, token, store, domain and problem; never
// server or pages.
package api
