package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Stamps says whether an organization's records are read from memory,
// and under which stamp: a stamp changes whenever what is held of the
// organization does (view.View.Stamp), on this process's own writes at
// once and on others' within the change poll (issue 17).
type Stamps interface {
	Stamp(orgID string) (uint64, bool)
}

// pageCacheBytes bounds the rendered pages kept: past it the cache starts
// over, so a caller varying its filters costs time, never memory.
const pageCacheBytes = 2 << 20

// pageCache keeps rendered list pages by everything their bytes depend
// on, each with the stamp of the records it was rendered from; a page
// whose stamp is no longer current is never served.
type pageCache struct {
	mu    sync.Mutex
	bytes int
	pages map[string]cachedPage
}

type cachedPage struct {
	stamp uint64
	body  []byte
}

func (c *pageCache) get(key string, stamp uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pages[key]; ok && p.stamp == stamp {
		return p.body
	}
	return nil
}

func (c *pageCache) put(key string, stamp uint64, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.pages[key]; ok {
		c.bytes -= len(key) + len(old.body)
	}
	if c.pages == nil || c.bytes+len(key)+len(body) > pageCacheBytes {
		c.pages, c.bytes = map[string]cachedPage{}, 0
	}
	c.pages[key] = cachedPage{stamp: stamp, body: body}
	c.bytes += len(key) + len(body)
}

// renderedList is the JSON body of a list page: from the page cache when
// orgID's records are held in memory under the stamp it was rendered
// from, else rendered now (and kept when they are held). scope is the
// list's scope as parseList binds cursors to it: the list, the caller's
// reach and every filter. The stamp is read before render, so a page
// rendered from records newer than its stamp is only ever dropped.
func (a *API) renderedList(orgID, scope, version string, lq listQuery, render func() (any, error)) ([]byte, error) {
	var stamp uint64
	held := false
	if a.Stamps != nil {
		stamp, held = a.Stamps.Stamp(orgID)
	}
	var key string
	if held {
		key = strings.Join([]string{scope, version, strconv.Itoa(lq.page.Limit),
			strconv.FormatInt(lq.page.After.CreatedAt.UnixMicro(), 10), lq.page.After.ID}, "\x00")
		if body := a.pages.get(key, stamp); body != nil {
			return body, nil
		}
	}
	v, err := render()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("render list: %w", err)
	}
	if held {
		a.pages.put(key, stamp, body)
	}
	return body, nil
}
