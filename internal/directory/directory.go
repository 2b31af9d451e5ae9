package directory

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Loader is where a client and its secrets come from on a miss (the store).
type Loader interface {
	GetClient(ctx context.Context, id string) (domain.Client, error)
	ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error)
}

// DefaultMaxClients bounds the clients a Directory holds when New is given
// no bound: a few hundred bytes each, so about 1 MB at most.
const DefaultMaxClients = 4096

// Directory is the in-memory client directory. Its zero value is not
// usable; build one with New. It is safe for concurrent use.
type Directory struct {
	load Loader
	max  int
	// Fresh, when set, says whether what is held may be served: false
	// when the change poll has not succeeded lately, and then every read
	// goes to the loader and nothing is kept (fail closed).
	Fresh func() bool

	mu sync.RWMutex
	// gen counts the forgets: a load that began before one does not
	// install what it read, which may predate the change (issue 17).
	gen     uint64
	entries map[string]entry // client id →
}

// entry is one client as loaded: the record and, for a confidential
// client, every stored secret (current and overlapping; their expiry is
// judged per request by oauth.AuthenticateClient, PRODUCT S1).
type entry struct {
	client  domain.Client
	secrets []domain.ClientSecret
}

// New returns a directory that loads from l and holds at most max clients
// (DefaultMaxClients when max <= 0).
func New(l Loader, max int) *Directory {
	if max <= 0 {
		max = DefaultMaxClients
	}
	return &Directory{load: l, max: max, entries: map[string]entry{}}
}

var _ Loader = (*Directory)(nil)

// GetClient returns client id from memory, loading it on a miss. An
// unknown id is store.ErrNotFound and is not remembered, so a flood of
// random ids grows nothing.
func (d *Directory) GetClient(ctx context.Context, id string) (domain.Client, error) {
	e, err := d.get(ctx, id)
	return e.client, err
}

// ClientSecrets returns the client's stored secrets (none for a public
// client, and, as the store answers, none for an unknown one) from
// memory, loading the client on a miss; the caller may modify the slice.
func (d *Directory) ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error) {
	e, err := d.get(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return slices.Clone(e.secrets), nil
}

func (d *Directory) get(ctx context.Context, id string) (entry, error) {
	if d.Fresh != nil && !d.Fresh() {
		return d.read(ctx, id)
	}
	d.mu.RLock()
	e, ok := d.entries[id]
	gen := d.gen
	d.mu.RUnlock()
	if ok {
		return e, nil
	}
	e, err := d.read(ctx, id)
	if err != nil {
		return entry{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != gen { // forgotten while loading: answer, but keep nothing
		return e, nil
	}
	if len(d.entries) >= d.max {
		for victim := range d.entries { // any one: map order is random
			delete(d.entries, victim)
			break
		}
	}
	d.entries[id] = e
	return e, nil
}

// read loads client id and, for a confidential client, its secrets.
func (d *Directory) read(ctx context.Context, id string) (entry, error) {
	c, err := d.load.GetClient(ctx, id)
	if err != nil {
		return entry{}, err
	}
	e := entry{client: c}
	if !c.Public {
		if e.secrets, err = d.load.ClientSecrets(ctx, id); err != nil {
			return entry{}, err
		}
	}
	return e, nil
}

// Forget drops every client of organization orgID, and makes loads under
// way install nothing.
func (d *Directory) Forget(orgID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	for id, e := range d.entries {
		if e.client.OrgID == orgID {
			delete(d.entries, id)
		}
	}
}

// ForgetAll drops every client, and makes loads under way install nothing.
func (d *Directory) ForgetAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	clear(d.entries)
}

// Len is how many clients are held.
func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.entries)
}

// Served is a store.Store whose GetClient and ClientSecrets are served by
// Directory; every other verb goes to Store.
type Served struct {
	store.Store
	Directory *Directory
}

// GetClient reads the client from the directory.
func (s Served) GetClient(ctx context.Context, id string) (domain.Client, error) {
	return s.Directory.GetClient(ctx, id)
}

// ClientSecrets reads the client's secrets from the directory.
func (s Served) ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error) {
	return s.Directory.ClientSecrets(ctx, clientID)
}
