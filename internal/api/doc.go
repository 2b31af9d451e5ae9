// Package api is the protected API (PRODUCT R1-R7): the bearer check, API
// versions, rate limits, scope and tenant rules, and the customers,
// subscriptions and prices endpoints in the Nomos OpenAPI shapes.
//
// It imports httpx, token, store, domain and problem; never server or pages.
package api
