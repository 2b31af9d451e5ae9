package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/httpx"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// timeLayout is how the API writes instants: RFC 3339 in UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// CustomerJSON is the Nomos Customer object (person or company).
type CustomerJSON struct {
	Object      string  `json:"object"`
	ID          string  `json:"id"`
	Type        string  `json:"type"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	CompanyName *string `json:"company_name,omitempty"`
	Email       string  `json:"email"`
	VATID       *string `json:"vat_id"`
	CreatedAt   string  `json:"created_at"`
}

func customerJSON(c domain.Customer) CustomerJSON {
	out := CustomerJSON{Object: "customer", ID: c.ID, Type: string(c.Type), FirstName: c.FirstName, LastName: c.LastName,
		Email: c.Email, CreatedAt: c.CreatedAt.UTC().Format(timeLayout)}
	if c.Type == domain.CustomerCompany {
		name := c.CompanyName
		out.CompanyName = &name
	}
	return out
}

func customerCursor(c domain.Customer) store.Cursor {
	return store.Cursor{CreatedAt: c.CreatedAt, ID: c.ID}
}

// visibleCustomer loads a customer the caller may see (oauth.CanSee,
// PRODUCT R3); anything else is the same 404 as a missing id.
func (a *API) visibleCustomer(r *http.Request, id string) (domain.Customer, error) {
	caller := callerOf(r.Context())
	if !oauth.CanSeeCustomerID(caller.Caller, id) {
		return domain.Customer{}, problem.NotFound()
	}
	c, err := a.Store.GetCustomer(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !oauth.CanSee(caller.Caller, c.OrgID, c.ID)) {
		return domain.Customer{}, problem.NotFound()
	}
	return c, err
}

// listCustomers is GET /customers, with the filters of customerFilters
// (PRODUCT R9).
func (a *API) listCustomers(w http.ResponseWriter, r *http.Request) error {
	q, err := readQuery(r.URL.RawQuery, customerListParams...)
	if err != nil {
		return err
	}
	fs, err := parseFilters(q, customerFilters)
	if err != nil {
		return err
	}
	caller := callerOf(r.Context())
	reach := oauth.ListReachFor(caller.Caller, "")
	f := store.CustomerFilter{OrgID: reach.OrgID, ID: reach.CustomerID,
		Emails: fs.text["email"], Types: fs.text["type"], Created: fs.times["created_at"]}
	// The cursor is bound to the caller's reach and the normalized filters.
	scope := "customers\x00" + f.OrgID + "\x00" + f.ID + "\x00" + fs.normal
	lq, err := a.parseList(q, scope)
	if err != nil {
		return err
	}
	body, err := a.renderedList(f.OrgID, scope, caller.Version, lq, func() (any, error) {
		rows, err := a.Store.ListCustomers(r.Context(), f, lq.fetchPage())
		return page(a, lq, rows, customerCursor, customerJSON), err
	})
	if err != nil {
		return err
	}
	httpx.WriteRaw(w, http.StatusOK, "application/json", body)
	return nil
}

// getCustomer is GET /customers/{id}.
func (a *API) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := a.visibleCustomer(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, customerJSON(c))
	return nil
}

// maxPatchBody bounds a PATCH body (PRODUCT S4).
const maxPatchBody = 16 << 10

// nameLimit is the OpenAPI document's maxLength for names.
const nameLimit = 100

// patchCustomer is PATCH /customers/{id}: first_name, last_name and, for
// companies, company_name; each optional, each 1 to 100 characters.
func (a *API) patchCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := a.visibleCustomer(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	fields, err := readObject(w, r)
	if err != nil {
		return err
	}
	var issues []problem.FieldError
	var patch domain.CustomerPatch
	targets := map[string]**string{"first_name": &patch.FirstName, "last_name": &patch.LastName, "company_name": &patch.CompanyName}
	for _, name := range sortedKeys(fields) {
		target, known := targets[name]
		if !known {
			issues = append(issues, problem.FieldError{Code: "unrecognized_keys", Field: fieldName(name),
				Message: "Unknown field; editable: first_name, last_name, company_name"})
			continue
		}
		if name == "company_name" && c.Type != domain.CustomerCompany {
			issues = append(issues, problem.FieldError{Code: "invalid_value", Field: name, Message: "Only company customers have a company name"})
			continue
		}
		value, issue := checkName(name, fields[name])
		if issue != nil {
			issues = append(issues, *issue)
			continue
		}
		*target = &value
	}
	if len(issues) > 0 {
		return problem.Invalid(issues...)
	}
	// Only the fields named are written, in the write itself: the customer
	// read above may be a poll stale (the view), and writing it back would
	// undo another process's change to a field this request left alone.
	c, err = a.Store.UpdateCustomer(r.Context(), c.ID, patch)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound()
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, customerJSON(c))
	return nil
}

// checkName validates one name field: a JSON string of 1 to 100
// printable characters after trimming (domain.PrintableText; the decoder
// turns invalid UTF-8 into U+FFFD, which it refuses).
func checkName(field string, raw json.RawMessage) (string, *problem.FieldError) {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil || jsonKind(raw) != "string" {
		return "", &problem.FieldError{Code: "invalid_type", Field: field, Message: "Expected string, received " + jsonKind(raw)}
	}
	v = strings.TrimSpace(v)
	switch n := utf8.RuneCountInString(v); {
	case n < 1:
		return "", &problem.FieldError{Code: "too_small", Field: field, Message: "Must be at least 1 character"}
	case n > nameLimit:
		return "", &problem.FieldError{Code: "too_big", Field: field, Message: "Must be at most 100 characters"}
	case !domain.PrintableText(v):
		return "", &problem.FieldError{Code: "invalid_format", Field: field,
			Message: "Must hold only printable characters: no control or formatting characters, no invalid UTF-8"}
	}
	return v, nil
}

func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "boolean"
	case b[0] == 'n':
		return "null"
	}
	return "number"
}

// readObject reads a JSON object body, refusing another media type, an
// oversized body, malformed JSON and repeated keys.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return nil, problem.BadRequest("Content-Type must be application/json")
	}
	body, err := httpx.ReadBody(w, r, maxPatchBody)
	if err != nil {
		return nil, problem.BadRequest(err.Error())
	}
	obj, err := httpx.DecodeObject(body)
	var repeated *httpx.RepeatedKeyError
	switch {
	case errors.As(err, &repeated):
		return nil, problem.Invalid(problem.FieldError{Code: "invalid_type", Field: fieldName(repeated.Key), Message: "Field is repeated"})
	case err != nil:
		return nil, problem.BadRequest("The request body must be a JSON object")
	}
	return obj, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// instant formats t, or gives nil for the zero time.
func instant(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(timeLayout)
	return &s
}

// fieldName is client input safe to echo as a field path.
func fieldName(s string) string { q := problem.Quote(s); return q[1 : len(q)-1] }
