package storetest

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/migrate"
)

// kelvin is "Kelvin@example.com" written with the Kelvin sign U+212A, which
// Unicode case folding (strings.ToLower) turns into a k.
const kelvin = "\u212aelvin@example.com"

func customerWithEmail(id, email string) domain.Customer {
	return domain.Customer{ID: id, OrgID: "org_a", Email: email, Type: domain.CustomerPerson, CreatedAt: base}
}

// findByEmail lists the ids of the customers an email finds.
func findByEmail(t *testing.T, s store.Store, email string) []string {
	t.Helper()
	got, err := s.ListCustomers(ctx(t), store.CustomerFilter{Email: email}, store.Page{Limit: 10})
	must(t, err)
	return ids(got, customerID)
}

// testEmailKeysFoldASCIIOnly is PRODUCT A7 in the store: an email's key
// folds the ASCII letters and nothing else, so look-alike addresses (the
// Kelvin sign, the long s, a non-ASCII capital) are other customers, and
// mixed-case ASCII still finds its customer.
func testEmailKeysFoldASCIIOnly(t *testing.T, s Subject) {
	seedOrg(t, s, "org_a")
	for id, email := range map[string]string{
		"cus_kelvin_ascii": "kelvin@example.com", "cus_kelvin_sign": kelvin,
		"cus_sam": "sam@example.com", "cus_long_s": "\u017fam@example.com",
		"cus_emile_upper": "\u00c9mile@example.com", "cus_emile_lower": "\u00e9mile@example.com",
	} {
		must(t, s.CreateCustomer(ctx(t), customerWithEmail(id, email), sys(base)))
	}
	for email, want := range map[string][]string{
		"KELVIN@Example.COM":     {"cus_kelvin_ascii"},
		kelvin:                   {"cus_kelvin_sign"},
		"SAM@EXAMPLE.COM":        {"cus_sam"},
		"\u017fam@example.com":   {"cus_long_s"},
		"\u00c9mile@example.com": {"cus_emile_upper"},
		"\u00e9mile@EXAMPLE.com": {"cus_emile_lower"},
	} {
		if got := findByEmail(t, s, email); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q finds %v, want %v", email, got, want)
		}
	}
	wantErr(t, s.CreateCustomer(ctx(t), customerWithEmail("cus_dup", "Sam@Example.com"), sys(base)), store.ErrConflict)
}

// EmailKeyMigration checks the migration that recomputes the email keys
// older releases wrote with Unicode case folding (PRODUCT A7), on both
// backends. fresh returns the location of a new empty database; prepare
// brings it up to files (every migration before that one) with the
// backend's runner and then runs the statements of seed, rows as an older
// release wrote them; open opens it, which applies the rest.
func EmailKeyMigration[S store.Store](t *testing.T, fsys fs.FS, fresh func() string, prepare func(loc string, files []migrate.File, seed []string) error, open func(loc string) (S, error)) {
	files, err := migrate.Files(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	n := -1
	for i, f := range files {
		if strings.Contains(f.Body, "UPDATE customers SET email_key") {
			n = i
			break
		}
	}
	if n < 0 {
		t.Fatal("no migration recomputes customers.email_key")
	}
	older := files[:n]
	row := func(id, email, key string) string {
		return fmt.Sprintf(`INSERT INTO customers (id, org_id, email, email_key, first_name, last_name, company_name, type, created_at)
			VALUES ('%s', 'org_a', '%s', '%s', '', '', '', 'person', 1)`, id, email, key)
	}
	seed := []string{
		`INSERT INTO orgs (id, name, created_at) VALUES ('org_a', 'A', 1)`,
		`INSERT INTO clients (id, org_id, name, public, scopes, redirect_uris, default_api_version, disabled, created_at)
			VALUES ('client_old', 'org_a', 'Old', FALSE, 'read:*', '[]', '2026-05-27.curie', FALSE, 1)`,
		// As strings.ToLower keyed them: the Kelvin sign became a k.
		row("cus_kate", "Kate@Example.com", "kate@example.com"),
		row("cus_kelvin", kelvin, "kelvin@example.com"),
		row("cus_emile", "\u00c9mile@example.com", "\u00e9mile@example.com"),
	}

	t.Run("A7/migration_recomputes_keys_ascii_only", func(t *testing.T) {
		loc := fresh()
		must(t, prepare(loc, older, seed))
		s, err := open(loc)
		must(t, err)
		defer s.Close()
		for email, want := range map[string][]string{
			"KATE@example.com":       {"cus_kate"},
			kelvin:                   {"cus_kelvin"},
			"kelvin@example.com":     {},
			"\u00c9mile@example.com": {"cus_emile"},
			"\u00e9mile@example.com": {},
		} {
			if got := findByEmail(t, s, email); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after the migration %q finds %v, want %v", email, got, want)
			}
		}
		// The real owner of the ASCII address can now be created.
		must(t, s.CreateCustomer(ctx(t), customerWithEmail("cus_kelvin_ascii", "kelvin@example.com"), sys(base)))
		// A9: clients from before are not first-party.
		c, err := s.GetClient(ctx(t), "client_old")
		must(t, err)
		if c.FirstParty {
			t.Error("a client from before the migration became first-party")
		}
	})
	t.Run("A7/migration_collision_stops_the_start", func(t *testing.T) {
		// Rows written by hand that differ only in ASCII case: their old
		// keys differ, their new ones would not.
		loc := fresh()
		must(t, prepare(loc, older, append(seed[:1:1],
			row("cus_bob_1", "Bob@example.com", "bob@example.com"),
			row("cus_bob_2", "bob@example.com", "bob@example.com (imported)"))))
		s, err := open(loc)
		if err == nil {
			s.Close()
			t.Fatal("two customers whose emails differ only in ASCII case: the migration succeeded")
		}
		if !strings.Contains(err.Error(), files[n].Name) {
			t.Fatalf("the error must name %s: %v", files[n].Name, err)
		}
	})
}
