// Package revoke is the one owner of revocation as the serving process sees
// it (PRODUCT A11): the in-memory set of revoked refresh families that the
// protected API checks on every request, its sync from storage (so another
// replica's revocation bites here within the poll), the cache of verified
// access tokens that sits in front of the signature check, and the verbs
// that revoke (Revoker: a grant, in the store and the set at once; a family
// the store revoked for a replay).
//
// It imports domain and token; never store (it declares the methods it
// uses), httpx or any HTTP surface.
package revoke
