// Package testfix builds what the HTTP surfaces' tests (server, api, pages)
// and the operator tests share: a SQLite store on a file in the test's temp
// directory, a settable clock, random ids, an operator admin over them that
// seeds orgs, clients and customers, a token issuer on a fixed signing key,
// and golden files. Only tests import it; each package keeps its own seed
// data and surface beside its tests.
package testfix

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/fakeclock"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/metrics"
	"github.com/nomosauth/nomosauth/internal/seal"
	"github.com/nomosauth/nomosauth/internal/store/sqlite"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Env is one test's world: a migrated SQLite store on a real file (so the
// pool, WAL and locking are real), a clock that moves only when the test
// says so, and an admin seeding records through the operators' own path.
type Env struct {
	t     testing.TB
	Path  string // the SQLite file
	Store *sqlite.Store
	Clock *fakeclock.Clock
	IDs   ids.Generator
	Admin *admin.Admin
	Log   *slog.Logger // discards everything
	// Metrics is a fresh set of collectors on Registry, the test's own,
	// for surfaces whose counters a test reads (Gather).
	Metrics  *metrics.Metrics
	Registry *prometheus.Registry
}

// New opens a fresh store in t's temp directory, closed at cleanup, with
// the clock standing at start.
func New(t testing.TB, start time.Time) *Env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := fakeclock.New(start)
	gen := ids.Generator{Rand: rand.Reader}
	reg := prometheus.NewRegistry()
	m, err := metrics.NewClocked(reg, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{t: t, Path: path, Store: st, Clock: clk, IDs: gen, Log: slog.New(slog.DiscardHandler),
		Admin:   &admin.Admin{Directory: st, Customers: st, Keys: st, Grants: st, IDs: gen, Now: clk.Now},
		Metrics: m, Registry: reg}
}

// SigningKeyID is the kid of the fixed signing key Issuer stores.
const SigningKeyID = "key_fixedtestsigningkey0000000"

// signingKey is a P-256 key made for tests only, so that the JWKS and
// anything derived from the public key stay the same from run to run.
const signingKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSbNFhpVZ8j1ZlBdW
sMpLECNeiQVpiWWI9uZMW66A7QOhRANCAAQU/Hu7z3Nq6achJZ4r4/Xp3YP1am/W
g37poi1rK5gj5WEORiykcTlwdBcs98LqFYah7qiXlfEYrPVPMdIowJzi
-----END PRIVATE KEY-----`

// Issuer stores the fixed ES256 signing key as the active key and returns
// an issuer signing with it, for url as issuer and audience.
func (e *Env) Issuer(url string) *token.Issuer {
	e.t.Helper()
	block, _ := pem.Decode([]byte(signingKey))
	ctx := e.t.Context()
	k := domain.SigningKey{ID: SigningKeyID, Algorithm: token.AlgES256, PrivateDER: block.Bytes, CreatedAt: e.Clock.Now()}
	Check(e.t, keyAdded(e.Store.AddSigningKey(ctx, k, time.Time{}, time.Time{}, domain.System(e.Clock.Now()))))
	keys, err := e.Store.ListSigningKeys(ctx)
	Check(e.t, err)
	ring, err := token.NewKeyRing(keys, e.Clock.Now())
	Check(e.t, err)
	return &token.Issuer{Ring: ring, Issuer: url, Audience: url, IDs: e.IDs}
}

// Seals creates the store's first seal key through the admin, as serve
// does at start, and returns a ring holding the stored keys (issue 17).
func (e *Env) Seals() *seal.Ring {
	e.t.Helper()
	keys, err := e.Admin.EnsureSealKey(e.t.Context())
	Check(e.t, err)
	return seal.NewRing(keys)
}

// Org creates an organization.
func (e *Env) Org(name string) domain.Org {
	e.t.Helper()
	o, err := e.Admin.CreateOrg(e.t.Context(), name)
	Check(e.t, err)
	return o
}

// Client creates a client and returns it with its secret ("" when public).
func (e *Env) Client(spec admin.ClientSpec) (domain.Client, string) {
	e.t.Helper()
	c, secret, err := e.Admin.CreateClient(e.t.Context(), spec)
	Check(e.t, err)
	return c, secret
}

// Customer creates a customer; names left empty get demo values, since
// the schema requires them (PRODUCT R9).
func (e *Env) Customer(spec admin.CustomerSpec) domain.Customer {
	e.t.Helper()
	spec.FirstName, spec.LastName = cmp.Or(spec.FirstName, "Erika"), cmp.Or(spec.LastName, "Musterfrau")
	c, err := e.Admin.CreateCustomer(e.t.Context(), spec)
	Check(e.t, err)
	return c
}

// Subscription creates a subscription; what the schema requires and spec
// leaves empty gets demo values (PRODUCT R9).
func (e *Env) Subscription(spec admin.SubscriptionSpec) domain.Subscription {
	e.t.Helper()
	spec = DemoSubscription(spec)
	s, err := e.Admin.CreateSubscription(e.t.Context(), spec)
	Check(e.t, err)
	return s
}

// Serve runs h on a loopback httptest server, closed at cleanup.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Check fails the test at once on a setup error.
func Check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Wire renders a response as a golden file holds it: the status, the
// headers sorted (but those that change on every run: Date, Content-Length
// and the request id), a blank line and the body, in which the request id
// reads <request-id>.
func Wire(status int, header http.Header, body []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s\n", status, http.StatusText(status))
	h := header.Clone()
	for _, k := range []string{"Date", "Content-Length", "X-Request-Id"} {
		h.Del(k)
	}
	h.Write(&b) // sorted by key, one line per value
	b.WriteString("\n")
	if id := header.Get("X-Request-Id"); id != "" {
		body = bytes.ReplaceAll(body, []byte(id), []byte("<request-id>"))
	}
	b.Write(body)
	return []byte(b.String())
}

// randomID is an id of ids.Generator: a prefix and 16 random bytes in
// lower-case base32.
var randomID = regexp.MustCompile(`\b([a-z]+_)[a-z2-7]{26}\b`)

// StableIDs replaces each random id with its prefix and its rank among the
// distinct ids of that prefix (client_1, grt_1), so a golden compares what
// a page says and how its ids relate, not what the generator drew.
func StableIDs(b []byte) []byte {
	seen := map[string]string{}
	count := map[string]int{}
	return randomID.ReplaceAllFunc(b, func(id []byte) []byte {
		if s, ok := seen[string(id)]; ok {
			return []byte(s)
		}
		prefix := string(randomID.FindSubmatch(id)[1])
		count[prefix]++
		seen[string(id)] = prefix + strconv.Itoa(count[prefix])
		return []byte(seen[string(id)])
	})
}

// Golden compares got with the file at path (under testdata/); with update
// (each test package's -update flag) it first rewrites the file. Any change
// of the output fails the test until the golden is refreshed on purpose.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Fatalf("%s differs from the golden file (rerun with -update if the change is intended):\n%s\nwant:\n%s", path, got, want)
	}
}

// DemoSubscription fills what the Nomos Subscription object requires and
// spec leaves empty with demo values.
func DemoSubscription(spec admin.SubscriptionSpec) admin.SubscriptionSpec {
	a := &spec.Address
	a.Street, a.HouseNumber, a.Zip, a.City = cmp.Or(a.Street, "Torstraße"), cmp.Or(a.HouseNumber, "119"), cmp.Or(a.Zip, "10115"), cmp.Or(a.City, "Berlin")
	spec.Meter.Number = cmp.Or(spec.Meter.Number, "1APA0195124010")
	spec.IBAN, spec.AccountHolder = cmp.Or(spec.IBAN, "DE89370400440532013000"), cmp.Or(spec.AccountHolder, "Erika Musterfrau")
	return spec
}

// keyAdded is the error of an AddSigningKey call.
func keyAdded(_ time.Time, err error) error { return err }
