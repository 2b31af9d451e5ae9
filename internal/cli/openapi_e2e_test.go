package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/oauth2/clientcredentials"
)

// openAPIDoc is the Nomos OpenAPI document nomosauth reproduces, copied
// from the reference the issue names.
const openAPIDoc = "testdata/nomos-openapi-2026-05-27.curie.json"

// servedOperations are the Nomos operations nomosauth serves (the README's
// compatibility table). GET /oauth/authorize answers with a redirect or a
// page, not JSON, and is covered by the journey tests.
var servedOperations = []string{
	"POST /oauth/token",
	"GET /customers", "GET /customers/{id}", "PATCH /customers/{id}",
	"GET /subscriptions", "GET /subscriptions/{id}", "GET /subscriptions/{id}/prices",
	"POST /admin/magic_link",
}

// openAPISchemas compiles the document's response schemas with OpenAPI 3.0's
// `nullable` turned into JSON Schema's null type.
type openAPISchemas struct {
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
}

func loadOpenAPI(t *testing.T) *openAPISchemas {
	t.Helper()
	raw, err := os.ReadFile(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("file:///nomos.json", nullable(doc)); err != nil {
		t.Fatal(err)
	}
	return &openAPISchemas{c: c, cache: map[string]*jsonschema.Schema{}}
}

// nullable rewrites OpenAPI 3.0 `nullable: true` into JSON Schema.
func nullable(v any) any {
	switch n := v.(type) {
	case []any:
		for i := range n {
			n[i] = nullable(n[i])
		}
	case map[string]any:
		for k := range n {
			n[k] = nullable(n[k])
		}
		if n["nullable"] != true {
			return n
		}
		delete(n, "nullable")
		if typ, ok := n["type"].(string); ok {
			n["type"] = []any{typ, "null"}
			if enum, ok := n["enum"].([]any); ok {
				n["enum"] = append(enum, nil)
			}
			return n
		}
		if len(n) == 0 {
			return n
		}
		return map[string]any{"anyOf": []any{map[string]any{"type": "null"}, n}}
	}
	return v
}

// validate checks body against the schema the document gives op's status.
func (s *openAPISchemas) validate(t *testing.T, op string, status int, body []byte) {
	t.Helper()
	method, path, _ := strings.Cut(op, " ")
	ptr := "/paths/" + strings.ReplaceAll(strings.ReplaceAll(path, "~", "~0"), "/", "~1") + "/" + strings.ToLower(method) +
		fmt.Sprintf("/responses/%d/content/application~1json/schema", status)
	sch, ok := s.cache[ptr]
	if !ok {
		var err error
		if sch, err = s.c.Compile("file:///nomos.json#" + ptr); err != nil {
			t.Fatalf("%s %d: the document has no schema: %v", op, status, err)
		}
		s.cache[ptr] = sch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %d: not JSON: %q", op, status, body)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %d does not validate against the Nomos OpenAPI: %v\n%s", op, status, err, body)
	}
}

// TestResponsesValidateAgainstNomosOpenAPI sends every served Nomos
// operation real requests, successes and errors, on records the admin
// commands made with their minimal arguments, and validates each response
// against the Nomos OpenAPI document (PRODUCT R9, R4).
func TestResponsesValidateAgainstNomosOpenAPI(t *testing.T) {
	s := loadOpenAPI(t)
	db := filepath.Join(t.TempDir(), "openapi.db")
	id := func(r ran) string { return jsonOut(t, r)["id"].(string) }
	org := id(run(t, db, "org", "create", "--name", "Stadtwerke", "--json"))
	full := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Backend", "--json"))
	reader := jsonOut(t, run(t, db, "client", "create", "--org", org, "--name", "Reader", "--scope", "read:*", "--json"))
	// Minimal arguments: only what the commands require.
	person := id(run(t, db, "customer", "create", "--org", org, "--email", "p@example.com", "--first-name", "P", "--last-name", "Q", "--json"))
	company := id(run(t, db, "customer", "create", "--org", org, "--email", "c@example.com", "--first-name", "C", "--last-name", "D",
		"--company-name", "E GmbH", "--json"))
	minimal := []string{"--street", "S", "--house-number", "1", "--zip", "10115", "--city", "B", "--meter-number", "M",
		"--iban", "DE89370400440532013000", "--account-holder", "H", "--json"}
	active := id(run(t, db, append([]string{"subscription", "create", "--customer", person}, minimal...)...))
	pending := id(run(t, db, append([]string{"subscription", "create", "--customer", company, "--status", "pending"}, minimal...)...))
	feedIn := id(run(t, db, append([]string{"subscription", "create", "--customer", company, "--type", "feed_in"}, minimal...)...))
	ended := id(run(t, db, append([]string{"subscription", "create", "--customer", person, "--status", "ended"}, minimal...)...))
	today := time.Now().Format(time.DateOnly)
	prices := filepath.Join(t.TempDir(), "prices.csv")
	if err := os.WriteFile(prices, []byte("timestamp,electricity,grid,levies\n"+time.Now().UTC().Truncate(time.Hour).Format(time.RFC3339)+",8.77,9.47,6.2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, db, "prices", "import", "--subscription", active, "--file", prices)

	_, base := startApp(t, db, "--addr", "127.0.0.1:0", "--issuer", "http://127.0.0.1", "--dev", "--rate-limit", "0", "--address-rate-limit", "0")
	ctx := t.Context()
	client := func(c map[string]any) *http.Client {
		cc := clientcredentials.Config{ClientID: c["client_id"].(string), ClientSecret: c["client_secret"].(string), TokenURL: base + "/oauth/token"}
		return cc.Client(ctx)
	}
	org0, read0, anon := client(full), client(reader), http.DefaultClient
	seen := map[string]map[bool]bool{}
	send := func(hc *http.Client, op string, status int, method, path, contentType, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, raw)
		}
		s.validate(t, op, status, raw)
		if seen[op] == nil {
			seen[op] = map[bool]bool{}
		}
		seen[op][status < 300] = true
	}
	tokenForm := func(v url.Values) string { return v.Encode() }
	const form = "application/x-www-form-urlencoded"
	cid, secret := full["client_id"].(string), full["client_secret"].(string)

	send(anon, "POST /oauth/token", 200, http.MethodPost, "/oauth/token", form,
		tokenForm(url.Values{"grant_type": {"client_credentials"}, "client_id": {cid}, "client_secret": {secret}}))
	send(anon, "POST /oauth/token", 400, http.MethodPost, "/oauth/token", form,
		tokenForm(url.Values{"grant_type": {"password"}, "client_id": {cid}, "client_secret": {secret}}))
	send(anon, "POST /oauth/token", 401, http.MethodPost, "/oauth/token", form,
		tokenForm(url.Values{"grant_type": {"client_credentials"}, "client_id": {cid}, "client_secret": {"nsec_wrong"}}))

	send(org0, "GET /customers", 200, http.MethodGet, "/customers", "", "")
	send(org0, "GET /customers", 200, http.MethodGet, "/customers?limit=1", "", "")
	send(org0, "GET /customers", 400, http.MethodGet, "/customers?limit=0", "", "")
	send(anon, "GET /customers", 401, http.MethodGet, "/customers", "", "")
	send(org0, "GET /customers", 405, http.MethodDelete, "/customers", "", "")
	for _, c := range []string{person, company} {
		send(org0, "GET /customers/{id}", 200, http.MethodGet, "/customers/"+c, "", "")
	}
	send(org0, "GET /customers/{id}", 404, http.MethodGet, "/customers/cus_missing", "", "")
	send(org0, "PATCH /customers/{id}", 200, http.MethodPatch, "/customers/"+person, "application/json", `{"first_name":"Petra"}`)
	send(org0, "PATCH /customers/{id}", 400, http.MethodPatch, "/customers/"+person, "application/json", `{"first_name":""}`)
	send(read0, "PATCH /customers/{id}", 403, http.MethodPatch, "/customers/"+person, "application/json", `{"first_name":"Eve"}`)

	send(org0, "GET /subscriptions", 200, http.MethodGet, "/subscriptions", "", "")
	send(org0, "GET /subscriptions", 400, http.MethodGet, "/subscriptions?limit=101", "", "")
	for _, sub := range []string{active, pending, feedIn, ended} {
		send(org0, "GET /subscriptions/{id}", 200, http.MethodGet, "/subscriptions/"+sub, "", "")
		send(org0, "GET /subscriptions/{id}/prices", 200, http.MethodGet, "/subscriptions/"+sub+"/prices?start="+today+"&end="+today, "", "")
	}
	send(org0, "GET /subscriptions/{id}", 404, http.MethodGet, "/subscriptions/sub_missing", "", "")
	send(org0, "GET /subscriptions/{id}/prices", 400, http.MethodGet, "/subscriptions/"+active+"/prices?start=x", "", "")
	send(org0, "GET /subscriptions/{id}/prices", 404, http.MethodGet, "/subscriptions/sub_missing/prices?start="+today+"&end="+today, "", "")

	const asJSON = "application/json"
	send(org0, "POST /admin/magic_link", 200, http.MethodPost, "/admin/magic_link", asJSON, `{"customerId":"`+person+`"}`)
	send(org0, "POST /admin/magic_link", 400, http.MethodPost, "/admin/magic_link", asJSON, `{"customerId":5}`)
	send(read0, "POST /admin/magic_link", 403, http.MethodPost, "/admin/magic_link", asJSON, `{"customerId":"`+person+`"}`)
	send(org0, "POST /admin/magic_link", 404, http.MethodPost, "/admin/magic_link", asJSON, `{"customerId":"cus_missing"}`)

	for _, op := range servedOperations {
		if !seen[op][true] || !seen[op][false] {
			t.Errorf("%s: not exercised with both a success and an error (%v)", op, seen[op])
		}
	}
	for op := range seen {
		if !slices.Contains(servedOperations, op) {
			t.Errorf("%s is exercised but not listed as served", op)
		}
	}
}

// The validator itself refuses what the issue found (an empty or too long
// name), a bad email and an incomplete record, so a pass above means something.
func TestOpenAPIValidatorRefusesInvalidRecords(t *testing.T) {
	s := loadOpenAPI(t)
	for _, tc := range []struct{ op, body string }{
		{"GET /customers/{id}", `{"object":"customer","id":"cus_1","type":"person","first_name":"","last_name":"L","email":"a@example.com","vat_id":null,"created_at":"2026-01-01T00:00:00.000Z"}`},
		{"GET /customers/{id}", `{"object":"customer","id":"cus_1","type":"person","first_name":"` + strings.Repeat("a", 101) + `","last_name":"L","email":"a@example.com","vat_id":null,"created_at":"2026-01-01T00:00:00.000Z"}`},
		{"GET /customers/{id}", `{"object":"customer","id":"cus_1","type":"person","first_name":"F","last_name":"L","email":"not-an-email","vat_id":null,"created_at":"2026-01-01T00:00:00.000Z"}`},
		{"GET /customers", `{"object":"list","items":[{"object":"customer"}],"has_more":false,"next_page":null}`},
	} {
		raw, _ := jsonschema.UnmarshalJSON(strings.NewReader(tc.body))
		sch, err := s.c.Compile("file:///nomos.json#/paths/" + strings.ReplaceAll(tc.op[strings.Index(tc.op, " ")+1:], "/", "~1") + "/get/responses/200/content/application~1json/schema")
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(raw) == nil {
			t.Errorf("%s accepted %s", tc.op, tc.body)
		}
	}
}
