package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type ran struct {
	code           int
	stdout, stderr string
}

// run runs nomosauth with --db db. A database file that does not exist yet
// is created first with migrate, as an operator does: the admin commands
// open an existing database only (PRODUCT O9).
func run(t testing.TB, db string, args ...string) ran {
	t.Helper()
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) && len(args) > 0 && args[0] != "migrate" && args[0] != "serve" {
		if r := runIn(db, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %s", r.stderr)
		}
	}
	return runIn(db, args...)
}

func runIn(db string, args ...string) ran {
	var out, errOut bytes.Buffer
	env := map[string]string{"NOMOSAUTH_DB": db}
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return ran{code, out.String(), errOut.String()}
}

func jsonOut(t testing.TB, r ran) map[string]any {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("not JSON: %q", r.stdout)
	}
	return m
}

func TestAdminCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Stadtwerke", "--json"))["id"].(string)
	if !strings.HasPrefix(org, "org_") {
		t.Fatalf("O2: org id %q", org)
	}
	created := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Backend", "--json"))
	id, secret := created["client_id"].(string), created["client_secret"].(string)
	if !strings.HasPrefix(id, "client_") || !strings.HasPrefix(secret, "nsec_") {
		t.Fatalf("O2: %v", created)
	}
	// The secret is shown once: no other command prints it.
	for _, args := range [][]string{{"client", "show", "--id", id}, {"client", "list"}, {"client", "show", "--id", id, "--json"}} {
		r := run(t, db, args...)
		if r.code != 0 || strings.Contains(r.stdout, secret) || !strings.Contains(r.stdout, id) {
			t.Fatalf("S1: %v: %d %q", args, r.code, r.stdout)
		}
	}
	show := jsonOut(t, run(t, db, "client", "show", "--id", id, "--json"))
	if show["scope"] != "read:* write:*" || show["default_api_version"] != "2026-05-27.curie" {
		t.Fatalf("client %v", show)
	}
	rotated := jsonOut(t, run(t, db, "client", "rotate-secret", "--id", id, "--overlap", "1h", "--json"))
	if s := rotated["client_secret"].(string); s == secret || !strings.HasPrefix(s, "nsec_") {
		t.Fatalf("rotate: %v", rotated)
	}
	jsonOut(t, run(t, db, "client", "disable", "--id", id, "--json"))
	if show := jsonOut(t, run(t, db, "client", "show", "--id", id, "--json")); show["disabled"] != true {
		t.Fatalf("disable: %v", show)
	}
	cus := jsonOut(t, run(t, db, "customer", "create", "--org", org, "--email", "Max@Example.com", "--first-name", "Max", "--last-name", "Lovelace", "--json"))["id"].(string)
	if r := run(t, db, "customer", "create", "--org", org, "--email", "max@example.COM", "--first-name", "Ada", "--last-name", "Lovelace"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("email uniqueness: %+v", r)
	}
	jsonOut(t, run(t, db, "subscription", "create", "--customer", cus, "--street", "Torstraße", "--house-number", "119", "--zip", "10115", "--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace", "--json"))
	jsonOut(t, run(t, db, "keys", "rotate", "--json"))
	if applied := jsonOut(t, run(t, db, "migrate", "--json"))["applied"].([]any); len(applied) < 3 {
		t.Fatalf("migrate lists %v", applied)
	}
	if r := run(t, db, "org", "list"); r.code != 0 || !strings.Contains(r.stdout, org) {
		t.Fatalf("org list: %+v", r)
	}
}

func TestUsageAndFailures(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	// A real org, so that a refusal comes from the check a case names, not
	// from the org lookup before it.
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Stadtwerke", "--json"))["id"].(string)
	cus := jsonOut(t, run(t, db, "customer", "create", "--org", org, "--email", "c@example.com", "--first-name", "C", "--last-name", "D", "--json"))["id"].(string)
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"unknown_command", []string{"frobnicate"}, 2, "unknown command"},
		{"missing_flag", []string{"org", "create"}, 2, "missing --name"},
		{"unknown_flag", []string{"org", "create", "--nmae", "x"}, 2, "flag provided but not defined"},
		{"stray_argument", []string{"org", "list", "extra"}, 2, "unexpected argument"},
		{"unknown_org", []string{"client", "create", "--org", "org_nope", "--name", "x"}, 1, "organization not found"},
		{"bad_scope", []string{"client", "create", "--org", org, "--name", "x", "--scope", "admin"}, 1, "scope must be"},
		{"unknown_client", []string{"client", "show", "--id", "client_nope"}, 1, "client not found"},
		{"bad_email", []string{"customer", "create", "--org", org, "--email", "not-an-email", "--first-name", "Ada", "--last-name", "Lovelace"}, 1, "email"},
		{"R9/customer_without_names", []string{"customer", "create", "--org", org, "--email", "n@example.com"}, 2, "missing --first-name, --last-name"},
		{"R9/customer_long_name", []string{"customer", "create", "--org", org, "--email", "n@example.com", "--first-name", strings.Repeat("a", 101), "--last-name", "L"}, 1, "first_name must be at most 100 characters"},
		{"R9/subscription_without_address", []string{"subscription", "create", "--customer", "cus_x"}, 2, "missing --street, --house-number, --zip, --city, --meter-number, --iban, --account-holder"},
		{"R9/subscription_bad_zip", []string{"subscription", "create", "--customer", cus, "--street", "S", "--house-number", "1", "--zip", "123", "--city", "C",
			"--meter-number", "M", "--iban", "DE89370400440532013000", "--account-holder", "H"}, 1, "zip must be five digits"},
		{"bad_alg", []string{"keys", "rotate", "--alg", "HS256"}, 1, "unsupported"},
		{"serve_bad_config", []string{"serve", "--issuer", "https://a.example"}, 2, "plain HTTP is refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, db, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.err) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", r.code, r.stderr, tt.code, tt.err)
			}
		})
	}
	if r := run(t, db, "--help"); r.code != 0 || !strings.Contains(r.stdout, "client rotate-secret") {
		t.Fatalf("help: %+v", r)
	}
}
