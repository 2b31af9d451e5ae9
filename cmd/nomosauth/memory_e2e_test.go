package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiGet calls the protected API with a bearer token and returns the
// status and the JSON body.
func apiGet(t *testing.T, base, path, accessToken string) (int, map[string]any) {
	t.Helper()
	return apiCall(t, http.MethodGet, base, path, accessToken, "")
}

func apiCall(t *testing.T, method, base, path, accessToken, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+accessToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// listIDs is the ids of a list answer's items.
func listIDs(body map[string]any) []string {
	items, _ := body["items"].([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

// TestIssue17ChangesByAnotherProcess: the server holds clients and the
// API's customers and subscriptions in memory (issue 17); a change made
// by another process (the admin CLI; on PostgreSQL also a second
// replica) is in force within --revocation-poll: a disabled client is
// refused at the token endpoint and at the protected API, and a
// customer created, given a subscription or renamed shows in the API.
func TestIssue17ChangesByAnotherProcess(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		changesByAnotherProcess(t, filepath.Join(t.TempDir(), "nomosauth.db"), false)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		db, _ := postgresDSN(t)
		changesByAnotherProcess(t, db, true)
	})
}

func changesByAnotherProcess(t *testing.T, db string, replicas bool) {
	bin := binary(t)
	admin(t, bin, db, "migrate")
	org := admin(t, bin, db, "org", "create", "--name", "Sunny Energy")["id"].(string)
	client := admin(t, bin, db, "client", "create", "--org", org, "--name", "Backend")
	id, secret := client["client_id"].(string), client["client_secret"].(string)
	other := admin(t, bin, db, "client", "create", "--org", org, "--name", "Other backend")
	otherID, otherSecret := other["client_id"].(string), other["client_secret"].(string)
	ada := admin(t, bin, db, "customer", "create", "--org", org, "--email", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace")["id"].(string)
	subscribe := func(customer string) string {
		return admin(t, bin, db, "subscription", "create", "--customer", customer, "--street", "Torstraße", "--house-number", "119", "--zip", "10115",
			"--city", "Berlin", "--meter-number", "1APA0195124010", "--iban", "DE89370400440532013000", "--account-holder", "Ada Lovelace")["id"].(string)
	}
	first := subscribe(ada)

	args := []string{"--rate-limit", "0", "--address-rate-limit", "0", "--revocation-poll", revocationPoll.String()}
	a := start(t, bin, db, args...)
	token := func(id, secret string) (int, string) {
		status, body, err := postForm(a.base, url.Values{"grant_type": {"client_credentials"}}, id, secret)
		if err != nil {
			t.Fatal(err)
		}
		access, _ := body["access_token"].(string)
		return status, access
	}
	status, access := token(id, secret)
	if status != http.StatusOK {
		t.Fatalf("token: %d", status)
	}
	// Warm every cache: the client at both doors, the organization's view.
	for range 3 {
		if s, _ := token(id, secret); s != http.StatusOK {
			t.Fatalf("token: %d", s)
		}
		if s, body := apiGet(t, a.base, "/customers", access); s != http.StatusOK || len(listIDs(body)) != 1 {
			t.Fatalf("GET /customers: %d %v", s, body)
		}
		if s, body := apiGet(t, a.base, "/subscriptions", access); s != http.StatusOK || len(listIDs(body)) != 1 || listIDs(body)[0] != first {
			t.Fatalf("GET /subscriptions: %d %v", s, body)
		}
		if s, _ := apiGet(t, a.base, "/customers/"+ada, access); s != http.StatusOK {
			t.Fatalf("GET /customers/%s: %d", ada, s)
		}
	}

	t.Run("Issue17/admin_change_to_a_customer_by_another_process_shows_within_the_poll_bound", func(t *testing.T) {
		grace := admin(t, bin, db, "customer", "create", "--org", org, "--email", "grace@example.com", "--first-name", "Grace", "--last-name", "Hopper")["id"].(string)
		took := within(t, revocationPoll, "the API lists a customer the CLI created", func() bool {
			_, body := apiGet(t, a.base, "/customers", access)
			ids := listIDs(body)
			return len(ids) == 2 && ids[0] == grace
		})
		t.Logf("customer created by the CLI listed after %v (poll %v)", took, revocationPoll)
		if s, body := apiGet(t, a.base, "/customers/"+grace, access); s != http.StatusOK || body["first_name"] != "Grace" {
			t.Fatalf("GET /customers/%s: %d %v", grace, s, body)
		}
		sub := subscribe(grace)
		within(t, revocationPoll, "the API lists a subscription the CLI created", func() bool {
			_, body := apiGet(t, a.base, "/subscriptions?filter[customer][eq]="+grace, access)
			ids := listIDs(body)
			return len(ids) == 1 && ids[0] == sub
		})
		if !replicas {
			return
		}
		// A second replica renames Ada; the first shows it within the bound.
		b := start(t, bin, db, args...)
		if s, body := apiCall(t, http.MethodPatch, b.base, "/customers/"+ada, access, `{"first_name":"Augusta"}`); s != http.StatusOK {
			t.Fatalf("PATCH on B: %d %v", s, body)
		}
		if _, body := apiGet(t, b.base, "/customers/"+ada, access); body["first_name"] != "Augusta" { // B's own write: at once
			t.Fatalf("B after its own PATCH: %v", body)
		}
		took = within(t, revocationPoll, "A shows a customer renamed through B", func() bool {
			_, body := apiGet(t, a.base, "/customers/"+ada, access)
			return body["first_name"] == "Augusta"
		})
		t.Logf("customer renamed through B shown by A after %v", took)
	})

	t.Run("Issue17/client_disabled_by_another_process_refused_within_the_poll_bound", func(t *testing.T) {
		// The other client of the same organization keeps working.
		if s, _ := token(otherID, otherSecret); s != http.StatusOK {
			t.Fatalf("other client: %d", s)
		}
		admin(t, bin, db, "client", "disable", "--id", id)
		took := within(t, revocationPoll, "the token endpoint refuses a client the CLI disabled", func() bool {
			s, _ := token(id, secret)
			return s == http.StatusUnauthorized
		})
		t.Logf("token endpoint refused the disabled client after %v (poll %v)", took, revocationPoll)
		within(t, revocationPoll, "the API refuses the access tokens of a client the CLI disabled", func() bool {
			return apiStatus(t, a.base, access) == http.StatusUnauthorized
		})
		if s, _ := token(otherID, otherSecret); s != http.StatusOK {
			t.Fatalf("the organization's other client: %d", s)
		}
		// Refused for good, not by a passing miss.
		time.Sleep(2 * revocationPoll)
		if s, _ := token(id, secret); s != http.StatusUnauthorized {
			t.Fatalf("disabled client later: %d", s)
		}
	})
}
