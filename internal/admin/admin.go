package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/ids"
	"github.com/nomosauth/nomosauth/internal/oauth"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/token"
)

// Admin performs operator actions. Each store field is the one role of
// storage its actions need; the wiring passes the same store to all.
type Admin struct {
	Directory store.Directory
	Customers store.Customers
	Keys      store.Keys
	Grants    GrantStore
	Audit     AuditLister
	IDs       ids.Generator
	Now       func() time.Time
	// Actor is who the actions are audited as (PRODUCT O8): the operator
	// at the CLI, or the server itself for what serve does at start.
	// Empty is an operator without a name.
	Actor domain.Actor
}

// origin is the audit origin of an action made at now.
func (a *Admin) origin(now time.Time) domain.Origin {
	actor := a.Actor
	if actor.Kind == "" {
		actor.Kind = domain.ActorOperator
	}
	return domain.Origin{Actor: actor, At: now}
}

// GrantStore is what operators do with customers' grants.
type GrantStore interface {
	ListGrants(ctx context.Context, customerID string) ([]domain.Grant, error)
	RevokeGrant(ctx context.Context, id string, by domain.Origin) (families []string, revoked bool, err error)
}

const maxNameLen = 200

// maxPersonNameLen bounds the names the Nomos OpenAPI bounds (a customer's
// first, last and company name: 1 to 100 characters; PRODUCT R9).
const maxPersonNameLen = 100

func checkName(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", problem.BadRequest(field + " is required")
	}
	if utf8.RuneCountInString(v) > maxNameLen || !domain.PrintableText(v) {
		return "", problem.BadRequest(field + " must be at most 200 printable characters (no control or formatting characters)")
	}
	return v, nil
}

// translate maps store sentinels for the operator.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return problem.BadRequest(what + " not found")
	case errors.Is(err, store.ErrConflict):
		return problem.Conflict(what + " already exists")
	}
	return err
}

// CreateOrg creates an organization.
func (a *Admin) CreateOrg(ctx context.Context, name string) (domain.Org, error) {
	name, err := checkName("name", name)
	if err != nil {
		return domain.Org{}, err
	}
	id, err := a.IDs.ID(domain.PrefixOrg)
	if err != nil {
		return domain.Org{}, err
	}
	org := domain.Org{ID: id, Name: name, CreatedAt: a.Now().UTC()}
	return org, translate(a.Directory.CreateOrg(ctx, org), "organization")
}

// ClientSpec describes a client to create.
type ClientSpec struct {
	OrgID        string
	Name         string
	Scope        string // space-separated; empty means every scope
	RedirectURIs []string
	Public       bool
	APIVersion   string // default API version; empty means the latest (PRODUCT R6)
	// FirstParty marks an app the operator runs itself, which may skip
	// consent with flow_type=login (PRODUCT A9).
	FirstParty bool
	// DeviceGrant lets the client pair devices with the device
	// authorization grant (PRODUCT T11).
	DeviceGrant bool
}

// CreateClient creates a client and returns it with its secret, which
// exists only in this return value: the store keeps its hash (PRODUCT S1).
// Public clients get no secret.
func (a *Admin) CreateClient(ctx context.Context, spec ClientSpec) (domain.Client, string, error) {
	name, err := checkName("name", spec.Name)
	if err != nil {
		return domain.Client{}, "", err
	}
	if _, err := a.Directory.GetOrg(ctx, spec.OrgID); err != nil {
		return domain.Client{}, "", translate(err, "organization")
	}
	scopes := domain.APIScopes()
	if spec.Scope != "" {
		// PRODUCT T12: the identity scopes are no client's to register;
		// every client of the authorization code flow may ask for them.
		if scopes, err = oauth.ParseScope(spec.Scope); err != nil || !domain.APIScopes().Covers(scopes) {
			return domain.Client{}, "", problem.BadRequest("scope must be one or both of \"read:*\" and \"write:*\"")
		}
	}
	for _, u := range spec.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return domain.Client{}, "", err
		}
	}
	version := spec.APIVersion
	if version == "" {
		version = domain.LatestAPIVersion
	}
	if !domain.KnownAPIVersion(version) {
		return domain.Client{}, "", problem.BadRequest("api version must be one of " + strings.Join(domain.APIVersions(), ", "))
	}
	id, err := a.IDs.ID(domain.PrefixClient)
	if err != nil {
		return domain.Client{}, "", err
	}
	now := a.Now().UTC()
	c := domain.Client{ID: id, OrgID: spec.OrgID, Name: name, Public: spec.Public, Scopes: scopes,
		RedirectURIs: spec.RedirectURIs, DefaultAPIVersion: version, FirstParty: spec.FirstParty, DeviceGrant: spec.DeviceGrant, CreatedAt: now}
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{}
	}
	var secret string
	var stored *domain.ClientSecret
	if !spec.Public {
		if secret, err = a.IDs.Secret(); err != nil {
			return domain.Client{}, "", err
		}
		stored = &domain.ClientSecret{ClientID: id, Hash: ids.Hash(secret), CreatedAt: now}
	}
	if err := a.Directory.CreateClient(ctx, c, stored, a.origin(now)); err != nil {
		return domain.Client{}, "", translate(err, "client")
	}
	return c, secret, nil
}

// checkRedirectURI refuses a registration that PRODUCT A2 would never let
// match: the same check every requested URI passes (oauth.CheckRedirectURI).
func checkRedirectURI(raw string) error {
	if _, err := oauth.CheckRedirectURI(raw); err != nil {
		return problem.BadRequest("redirect URI " + problem.Quote(raw) + " " + err.Error())
	}
	return nil
}

// GetClient returns a client, without any secret.
func (a *Admin) GetClient(ctx context.Context, id string) (domain.Client, error) {
	c, err := a.Directory.GetClient(ctx, id)
	return c, translate(err, "client")
}

// RotateSecret issues a new secret for a confidential client; the old ones
// stay valid for overlap (PRODUCT S1).
func (a *Admin) RotateSecret(ctx context.Context, clientID string, overlap time.Duration) (string, error) {
	if overlap < 0 {
		return "", problem.BadRequest("overlap must not be negative")
	}
	c, err := a.Directory.GetClient(ctx, clientID)
	if err != nil {
		return "", translate(err, "client")
	}
	if c.Public {
		return "", problem.BadRequest("public clients have no secret")
	}
	secret, err := a.IDs.Secret()
	if err != nil {
		return "", err
	}
	now := a.Now().UTC()
	err = a.Directory.RotateClientSecret(ctx, domain.ClientSecret{ClientID: clientID, Hash: ids.Hash(secret), CreatedAt: now}, now.Add(overlap), a.origin(now))
	return secret, translate(err, "client")
}

// DisableClient stops a client from authenticating, at once.
func (a *Admin) DisableClient(ctx context.Context, id string) error {
	return translate(a.Directory.DisableClient(ctx, id, a.origin(a.Now().UTC())), "client")
}

// CustomerSpec describes a customer to create.
type CustomerSpec struct {
	OrgID       string
	Email       string
	FirstName   string
	LastName    string
	CompanyName string
}

// CreateCustomer creates a customer; the email must pass the sign-in
// pages' rule (PRODUCT A7: oauth.CheckEmail) and be free server-wide,
// compared with only ASCII letters case-folded.
func (a *Admin) CreateCustomer(ctx context.Context, spec CustomerSpec) (domain.Customer, error) {
	email, err := oauth.CheckEmail(spec.Email)
	if err != nil {
		return domain.Customer{}, problem.BadRequest("email " + err.Error())
	}
	if _, err := a.Directory.GetOrg(ctx, spec.OrgID); err != nil {
		return domain.Customer{}, translate(err, "organization")
	}
	c := domain.Customer{OrgID: spec.OrgID, Email: email, Type: domain.CustomerPerson}
	for _, f := range []struct {
		field string
		in    string
		out   *string
	}{{"first_name", spec.FirstName, &c.FirstName}, {"last_name", spec.LastName, &c.LastName}, {"company_name", spec.CompanyName, &c.CompanyName}} {
		// The OpenAPI requires both names, 1 to 100 characters; a company
		// name is optional, and bounded alike when given (PRODUCT R9).
		if f.in == "" && f.out == &c.CompanyName {
			continue
		}
		if *f.out, err = checkName(f.field, f.in); err != nil {
			return domain.Customer{}, err
		}
		if utf8.RuneCountInString(*f.out) > maxPersonNameLen {
			return domain.Customer{}, problem.BadRequest(f.field + " must be at most 100 characters")
		}
	}
	if c.CompanyName != "" {
		c.Type = domain.CustomerCompany
	}
	if c.ID, err = a.IDs.ID(domain.PrefixCustomer); err != nil {
		return domain.Customer{}, err
	}
	c.CreatedAt = a.Now().UTC()
	if err := a.Customers.CreateCustomer(ctx, c, a.origin(c.CreatedAt)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return domain.Customer{}, problem.Conflict("a customer with this email already exists")
		}
		return domain.Customer{}, err
	}
	return c, nil
}

// EnsureSigningKey creates the first signing key, of alg (ES256 when
// empty), when there is none; a replica that loses the race to another
// finds the winner's key. When a key exists, a given alg must be the
// algorithm of the key without retirement (the one that signs now, or once
// a pending rotation hands over): `serve --signing-alg` never silently
// signs with another algorithm than it was given (PRODUCT T8).
func (a *Admin) EnsureSigningKey(ctx context.Context, alg string) error {
	k, ok, err := a.unretiredKey(ctx)
	if err != nil {
		return err
	}
	if !ok {
		now := a.Now().UTC()
		first, err := token.GenerateKey(cmp.Or(alg, token.AlgES256), a.IDs.Rand, a.IDs, now)
		if err != nil {
			return problem.BadRequest(err.Error())
		}
		_, err = a.Keys.AddSigningKey(ctx, first, time.Time{}, time.Time{}, a.origin(now))
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if k, _, err = a.unretiredKey(ctx); err != nil {
			return err
		}
	}
	if alg != "" && k.Algorithm != alg {
		return fmt.Errorf("--signing-alg is %s but the database's signing key is %s: run `nomosauth keys rotate --alg %s` to change the algorithm (the new key signs after --key-publish-delay), or start without --signing-alg",
			alg, k.Algorithm, alg)
	}
	return nil
}

// unretiredKey is the stored key without retirement, which signs now or
// once a pending rotation hands over; ok is false when there is none.
func (a *Admin) unretiredKey(ctx context.Context) (k domain.SigningKey, ok bool, err error) {
	keys, err := a.Keys.ListSigningKeys(ctx)
	if err != nil {
		return domain.SigningKey{}, false, err
	}
	for _, k := range keys { // newest first
		if k.Active() {
			return k, true, nil
		}
	}
	return domain.SigningKey{}, false, nil
}

// RotateKeys stores a new signing key of alg, or of the current key's
// algorithm when alg is empty (PRODUCT T8: rotation keeps the algorithm
// unless told otherwise). Publish then sign: every server puts the new key
// in its JWKS at its next key poll, within poll of now, and the key signs
// only once it has been published for maxAge, the JWKS cache lifetime the
// servers announce, so no resource server that cached the JWKS meets its
// kid unknown: it signs two polls (a poll may have begun just before the
// key was stored) plus maxAge from now. Until then the current key signs,
// and it stays published an access-token lifetime after. It returns the
// key and when it starts to sign.
func (a *Admin) RotateKeys(ctx context.Context, alg string, maxAge, poll time.Duration) (domain.SigningKey, time.Time, error) {
	delay := maxAge + 2*poll
	if maxAge < 0 || poll < 0 {
		return domain.SigningKey{}, time.Time{}, problem.BadRequest("the publication delay and the key poll must not be negative")
	}
	now := a.Now().UTC()
	current, ok, err := a.unretiredKey(ctx)
	if err != nil {
		return domain.SigningKey{}, time.Time{}, err
	}
	if alg == "" {
		alg = cmp.Or(current.Algorithm, token.AlgES256)
	}
	k, err := token.GenerateKey(alg, a.IDs.Rand, a.IDs, now)
	if err != nil {
		return domain.SigningKey{}, time.Time{}, problem.BadRequest(err.Error())
	}
	handover := now.Add(delay)
	// Behind a rotation still waiting for its handover, the store moves
	// this one's to just after it and says so.
	signsFrom, err := a.Keys.AddSigningKey(ctx, k, handover, handover.Add(token.AccessTTL+token.Leeway), a.origin(now))
	if err != nil {
		return domain.SigningKey{}, time.Time{}, err
	}
	if !ok {
		return k, now, nil // nothing to hand over from: it signs at once
	}
	return k, signsFrom, nil
}
