package domain

import "slices"

// The Nomos API versions nomosauth serves, oldest first (PRODUCT R6).
const (
	VersionChucky = "2025-12-01.chucky"
	VersionBatman = "2025-12-16.batman"
	VersionEdison = "2026-01-29.edison"
	VersionCurie  = "2026-05-27.curie"
	// LatestAPIVersion is the default of new clients.
	LatestAPIVersion = VersionCurie
)

// APIVersions lists the supported versions, oldest first.
func APIVersions() []string {
	return []string{VersionChucky, VersionBatman, VersionEdison, VersionCurie}
}

// KnownAPIVersion reports whether v is a supported version.
func KnownAPIVersion(v string) bool { return slices.Contains(APIVersions(), v) }

// APIVersionAtLeast reports whether version v is min or newer.
func APIVersionAtLeast(v, min string) bool {
	return slices.Index(APIVersions(), v) >= slices.Index(APIVersions(), min)
}
