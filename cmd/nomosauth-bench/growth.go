package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // reads the bench database's size
)

// growthTokens is how many client-credentials tokens the growth phase
// issues: the report gives the database's growth per this many.
const growthTokens = 10_000

// dbSize is the database's logical size in bytes, as a reader sees it
// with the WAL applied (page count times page size): what the rows take,
// whatever the checkpointer has copied to the file so far.
func dbSize(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var pages, size int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, fmt.Errorf("page count: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, fmt.Errorf("page size: %w", err)
	}
	return pages * size, nil
}

// dbGrowth issues growthTokens client-credentials tokens with conns
// workers and returns how many bytes the database grew meanwhile (PRODUCT
// issue 17: tokens that are never refreshed should cost no storage).
func (f *fixture) dbGrowth(ctx context.Context, db string, conns int) (int64, error) {
	before, err := dbSize(ctx, db)
	if err != nil {
		return 0, err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	form := url.Values{"grant_type": {"client_credentials"}}
	var left atomic.Int64
	left.Store(growthTokens)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range conns {
		wg.Go(func() {
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				if _, err := f.token(client, form); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("growth phase: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	after, err := dbSize(ctx, db)
	if err != nil {
		return 0, err
	}
	return after - before, nil
}
