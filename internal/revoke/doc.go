// Package revoke is the one owner of revocation as the serving process sees
// it (PRODUCT A11): the in-memory set of revoked refresh families that the
// protected API checks on every request, its sync from storage (so another
// replica's revocation bites here within the poll), and the cache of
// verified access tokens that sits in front of the signature check.
//
// It imports domain and token; never store (it declares the one method it
// reads), httpx or any HTTP surface.
package revoke
