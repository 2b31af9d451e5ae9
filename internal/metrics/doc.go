// Package metrics owns every Prometheus collector of the server (PRODUCT
// O7): what the token endpoint decides, what the store commits, what the
// hosted journey mails, what the rate limits refuse, what the background
// polls last did and how long each HTTP route takes. cli creates one
// Metrics on a registry of its own (never the default registry) and hands
// it to the surfaces; a nil *Metrics records nothing, so surfaces and tests
// built without one keep working.
//
// The recording methods sit on hot paths (every token request, every HTTP
// request): their label children are resolved once and cached in
// copy-on-write maps read without a lock, so a request costs a map lookup
// and an atomic add, and allocates nothing beyond what a histogram needs.
//
// It imports domain and the Prometheus client only; store and its backends
// never import it (cli adapts their small observer functions).
package metrics
