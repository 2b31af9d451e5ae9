package api

import "github.com/nomosauth/nomosauth/internal/domain"

// The differences between API versions that nomosauth implements (listed in
// the README).

// StructuredErrors reports whether v shows the per-field errors array on
// validation failures: from curie on, as the OpenAPI document says.
func StructuredErrors(v string) bool { return domain.APIVersionAtLeast(v, domain.VersionCurie) }

// FeedInVisible reports whether v shows feed-in subscriptions: they exist
// only from curie on; older versions list and find consumption only.
func FeedInVisible(v string) bool { return domain.APIVersionAtLeast(v, domain.VersionCurie) }
