package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestClientFirstParty is PRODUCT A9's operator side: client create
// --first-party marks the app, and client show and list say so.
func TestClientFirstParty(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Stadtwerke", "--json"))["id"].(string)
	first := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Own App", "--first-party", "--json"))["client_id"].(string)
	other := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Partner", "--json"))["client_id"].(string)
	t.Run("A9/client_create_first_party", func(t *testing.T) {
		if show := jsonOut(t, run(t, db, "client", "show", "--id", first, "--json")); show["first_party"] != true {
			t.Fatalf("--first-party: %v", show)
		}
		if show := jsonOut(t, run(t, db, "client", "show", "--id", other, "--json")); show["first_party"] != false {
			t.Fatalf("without --first-party: %v", show)
		}
		if r := run(t, db, "client", "show", "--id", first); r.code != 0 || !strings.Contains(r.stdout, "first party") || !strings.Contains(r.stdout, "true") {
			t.Fatalf("client show: %+v", r)
		}
		r := run(t, db, "client", "list")
		if r.code != 0 {
			t.Fatalf("client list: %+v", r)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.Contains(line, first) != strings.Contains(line, "(first-party)") {
				t.Fatalf("client list marks first-party apps only: %q", line)
			}
		}
	})
}

// TestClientDeviceGrant is PRODUCT T11's opt-in: only a client created
// with --device-grant may pair devices, and client show says which.
func TestClientDeviceGrant(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Stadtwerke", "--json"))["id"].(string)
	charger := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Charger", "--public", "--device-grant", "--json"))["client_id"].(string)
	other := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Backend", "--json"))["client_id"].(string)
	for id, want := range map[string]bool{charger: true, other: false} {
		if show := jsonOut(t, run(t, db, "client", "show", "--id", id, "--json")); show["device_grant"] != want {
			t.Fatalf("T11/client_create_device_grant: %s: %v", id, show)
		}
	}
	if r := run(t, db, "client", "show", "--id", charger); r.code != 0 || !strings.Contains(r.stdout, "device grant") {
		t.Fatalf("client show: %+v", r)
	}
}

// TestCustomerCreateEmailRule is PRODUCT A7 for operators: customer create
// applies the sign-in pages' email rule and compares emails with only
// ASCII letters folded.
func TestCustomerCreateEmailRule(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	org := jsonOut(t, run(t, db, "org", "create", "--name", "Stadtwerke", "--json"))["id"].(string)
	jsonOut(t, run(t, db, "customer", "create", "--org", org, "--email", "kate@example.com", "--first-name", "Ada", "--last-name", "Lovelace", "--json"))
	for name, email := range map[string]string{
		"A7/customer_create_kelvin_sign":      "\u212aate@example.com",
		"A7/customer_create_zero_width_space": "ka\u200bte@example.com",
		"A7/customer_create_soft_hyphen":      "kate@ex\u00adample.com",
		"A7/customer_create_trailing_dot":     "kate@example.com.",
	} {
		t.Run(name, func(t *testing.T) {
			if r := run(t, db, "customer", "create", "--org", org, "--email", email, "--first-name", "Ada", "--last-name", "Lovelace"); r.code != 1 || !strings.Contains(r.stderr, "email") {
				t.Fatalf("%q: %+v", email, r)
			}
		})
	}
	t.Run("A7/customer_create_mixed_case_ascii_taken", func(t *testing.T) {
		if r := run(t, db, "customer", "create", "--org", org, "--email", "KATE@Example.com", "--first-name", "Ada", "--last-name", "Lovelace"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("A7/customer_create_idn_domain_a_label", func(t *testing.T) {
		if got := jsonOut(t, run(t, db, "customer", "create", "--org", org, "--email", "kate@b\u00fccher.example", "--first-name", "Ada", "--last-name", "Lovelace", "--json")); got["email"] != "kate@xn--bcher-kva.example" {
			t.Fatalf("IDN domain: %v", got)
		}
	})
}
