package directory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nomosauth/nomosauth/internal/directory"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// fake is a client table with counted reads; gate, when set, stops the
// next GetClient after it read until it is closed, telling entered first.
type fake struct {
	mu      sync.Mutex
	clients map[string]domain.Client
	secrets map[string][]domain.ClientSecret
	reads   int
	entered chan struct{}
	gate    chan struct{}
}

func (f *fake) GetClient(_ context.Context, id string) (domain.Client, error) {
	f.mu.Lock()
	f.reads++
	c, ok := f.clients[id]
	gate, entered := f.gate, f.entered
	f.gate = nil
	f.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	if !ok {
		return domain.Client{}, store.ErrNotFound
	}
	return c, nil
}

func (f *fake) ClientSecrets(_ context.Context, id string) ([]domain.ClientSecret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[id], nil
}

func (f *fake) set(c domain.Client) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients[c.ID] = c
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func newFake() *fake {
	f := &fake{clients: map[string]domain.Client{}, secrets: map[string][]domain.ClientSecret{}}
	for _, c := range []domain.Client{{ID: "client_a1", OrgID: "org_a"}, {ID: "client_a2", OrgID: "org_a"}, {ID: "client_b", OrgID: "org_b"}} {
		f.clients[c.ID] = c
		f.secrets[c.ID] = []domain.ClientSecret{{ClientID: c.ID, Hash: "h-" + c.ID}}
	}
	return f
}

func get(t *testing.T, d *directory.Directory, id string) domain.Client {
	t.Helper()
	c, err := d.GetClient(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue17/warm_reads_no_database: a client and its secrets are read once,
// then served from memory, until their organization is forgotten; the
// other organization's clients stay.
func TestIssue17WarmClientReadsNoDatabase(t *testing.T) {
	f := newFake()
	d := directory.New(f, 0)
	get(t, d, "client_a1")
	get(t, d, "client_b")
	reads := f.count()
	for range 3 {
		get(t, d, "client_a1")
		if s, err := d.ClientSecrets(t.Context(), "client_a1"); err != nil || len(s) != 1 || s[0].Hash != "h-client_a1" {
			t.Fatalf("secrets %+v, %v", s, err)
		}
	}
	if f.count() != reads {
		t.Fatalf("warm reads went to the database %d times", f.count()-reads)
	}
	f.set(domain.Client{ID: "client_a1", OrgID: "org_a", Disabled: true})
	d.Forget("org_a")
	if !get(t, d, "client_a1").Disabled {
		t.Fatal("a forgotten client was served from memory")
	}
	reads = f.count()
	get(t, d, "client_b")
	if f.count() != reads {
		t.Fatal("forgetting org_a dropped org_b's client")
	}
}

// Issue17/unknown_ids_not_cached_and_bounded: unknown ids are
// ErrNotFound every time and take no memory; known ones beyond the bound
// push others out.
func TestIssue17UnknownIDsNotCachedAndBounded(t *testing.T) {
	f := newFake()
	for i := range 50 {
		f.clients[fmt.Sprintf("client_%02d", i)] = domain.Client{ID: fmt.Sprintf("client_%02d", i), OrgID: "org_a"}
	}
	d := directory.New(f, 10)
	for i := range 1000 {
		if _, err := d.GetClient(t.Context(), fmt.Sprintf("client_random_%d", i)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	}
	if s, err := d.ClientSecrets(t.Context(), "client_random"); err != nil || len(s) != 0 { // as the store answers
		t.Fatalf("secrets of an unknown client: %v, %v", s, err)
	}
	if d.Len() != 0 {
		t.Fatalf("%d unknown ids held", d.Len())
	}
	for i := range 50 {
		get(t, d, fmt.Sprintf("client_%02d", i))
	}
	if d.Len() != 10 {
		t.Fatalf("%d clients held, bound 10", d.Len())
	}
}

// Issue17/load_before_forget_installs_nothing: a load that read a client
// before its change, and ends after the change was forgotten, answers
// its caller but keeps nothing, so the next read sees the change (the
// generation guard).
func TestIssue17ClientLoadBeforeForgetInstallsNothing(t *testing.T) {
	f := newFake()
	d := directory.New(f, 0)
	f.entered, f.gate = make(chan struct{}), make(chan struct{})
	gate := f.gate
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.GetClient(context.Background(), "client_a1")
	}()
	<-f.entered // the load has read the enabled client
	f.set(domain.Client{ID: "client_a1", OrgID: "org_a", Disabled: true})
	d.Forget("org_a")
	close(gate)
	<-done
	if !get(t, d, "client_a1").Disabled {
		t.Fatal("the stale load was installed: a disabled client is served as enabled")
	}
}

// Served answers GetClient and ClientSecrets from the directory.
func TestServed(t *testing.T) {
	f := newFake()
	s := directory.Served{Directory: directory.New(f, 0)}
	for range 2 {
		if c, err := s.GetClient(t.Context(), "client_b"); err != nil || c.OrgID != "org_b" {
			t.Fatal(c, err)
		}
	}
	if f.count() != 1 {
		t.Fatalf("%d reads", f.count())
	}
}

// Issue17/stale_directory_reads_through: while Fresh says no (the change
// poll has failed for too long), every read goes to the database and
// nothing is kept, so a client disabled elsewhere is refused as soon as
// the database answers, and not served from memory meanwhile.
func TestIssue17StaleDirectoryReadsThrough(t *testing.T) {
	f := newFake()
	d := directory.New(f, 0)
	fresh := true
	d.Fresh = func() bool { return fresh }
	get(t, d, "client_a1")
	reads := f.count()
	get(t, d, "client_a1")
	if f.count() != reads {
		t.Fatal("fresh: a warm read went to the database")
	}
	fresh = false
	f.set(domain.Client{ID: "client_a1", OrgID: "org_a", Disabled: true})
	if !get(t, d, "client_a1").Disabled || f.count() != reads+1 {
		t.Fatal("stale: the held client was served")
	}
	get(t, d, "client_b")
	if d.Len() != 1 {
		t.Fatalf("stale: reads kept %d clients, want the one held before", d.Len())
	}
}
