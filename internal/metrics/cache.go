package metrics

import (
	"sync"
	"sync/atomic"
)

// cache is a copy-on-write map for label children: reads are one atomic
// load and a map lookup, with no lock; a miss copies the map under a mutex.
// Its keys are bounded by construction (known label values, the bounded
// client set), so the copies end once every child exists.
type cache[K comparable, V any] struct {
	mu sync.Mutex
	m  atomic.Pointer[map[K]V]
}

// get returns the value for k, creating it with create on first use.
func (c *cache[K, V]) get(k K, create func() V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	next := create()
	m := grown[K, V](old)
	m[k] = next
	c.m.Store(&m)
	return next
}

// grown copies old into a map with room for one more.
func grown[K comparable, V any](old *map[K]V) map[K]V {
	if old == nil {
		return map[K]V{}
	}
	m := make(map[K]V, len(*old)+1)
	for k, v := range *old {
		m[k] = v
	}
	return m
}

// OtherClient is the client label of every client beyond the first
// MaxClientLabels, so the series count stays bounded.
const OtherClient = "other"

// MaxClientLabels bounds how many client ids become label values.
const MaxClientLabels = 100

// clientLabels hands out client ids as labels, the first max distinct ones
// only; later ones are OtherClient. Only ids of clients known to exist
// reach it (the token endpoint's caller checks), so a flood of made-up ids
// cannot fill it.
type clientLabels struct {
	max   int
	mu    sync.Mutex
	known atomic.Pointer[map[string]struct{}]
}

func (c *clientLabels) label(id string) string {
	m := c.known.Load()
	if m != nil {
		if _, ok := (*m)[id]; ok {
			return id
		}
		if len(*m) >= c.max {
			return OtherClient
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.known.Load()
	if old != nil {
		if _, ok := (*old)[id]; ok {
			return id
		}
		if len(*old) >= c.max {
			return OtherClient
		}
	}
	next := grown[string, struct{}](old)
	next[id] = struct{}{}
	c.known.Store(&next)
	return id
}
