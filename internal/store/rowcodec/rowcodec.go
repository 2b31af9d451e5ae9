// Package rowcodec turns domain records into column values and back, the
// same way for every backend: times as Unix microseconds (0 for "not
// set"), scopes as their canonical text, and one column list and one scan
// function per record. Each backend still writes its own SQL; this is only
// the mapping. It imports domain and nothing else of ours.
package rowcodec

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Scanner is what database/sql rows and pgx rows share.
type Scanner interface{ Scan(dest ...any) error }

// Micros stores a time as Unix microseconds, 0 for the zero time.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Time reads Micros back, in UTC.
func Time(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// ScopesText is the stored form of a scope set.
func ScopesText(s domain.Scopes) string { return s.Canonical().String() }

// Scopes reads ScopesText back.
func Scopes(s string) domain.Scopes {
	if s == "" {
		return domain.Scopes{}
	}
	return domain.Scopes(strings.Split(s, " ")).Canonical()
}

// EmailKey is the stored key an email's uniqueness and lookup compare:
// domain.EmailKey, which folds ASCII letters only (PRODUCT A7).
func EmailKey(email string) string { return domain.EmailKey(email) }

// RedirectURIs is the stored (JSON) form of a client's redirect URIs.
func RedirectURIs(uris []string) (string, error) {
	if uris == nil {
		uris = []string{}
	}
	b, err := json.Marshal(uris)
	return string(b), err
}

// OrgColumns are the columns Org reads, in order.
const OrgColumns = `id, name, created_at`

// Org scans an organization row; a missing row is the driver's own error.
func Org(r Scanner) (domain.Org, error) {
	var o domain.Org
	var created int64
	err := r.Scan(&o.ID, &o.Name, &created)
	o.CreatedAt = Time(created)
	return o, err
}

// ClientColumns are the columns Client reads, in order.
const ClientColumns = `id, org_id, name, public, scopes, redirect_uris, default_api_version, disabled, first_party, created_at, device_grant`

// Client scans a client row; a missing row is the driver's own error.
func Client(r Scanner) (domain.Client, error) {
	var c domain.Client
	var scopes string
	var uris []byte
	var created int64
	err := r.Scan(&c.ID, &c.OrgID, &c.Name, &c.Public, &scopes, &uris, &c.DefaultAPIVersion, &c.Disabled, &c.FirstParty, &created, &c.DeviceGrant)
	if err != nil {
		return c, err
	}
	c.Scopes = Scopes(scopes)
	c.CreatedAt = Time(created)
	if err := json.Unmarshal(uris, &c.RedirectURIs); err != nil {
		return c, fmt.Errorf("client %s redirect uris: %w", c.ID, err)
	}
	return c, nil
}

// Secret scans a client secret (client_id, hash, created_at, expires_at) row; a missing row is the driver's own error.
func Secret(r Scanner) (domain.ClientSecret, error) {
	var sec domain.ClientSecret
	var created, expires int64
	err := r.Scan(&sec.ClientID, &sec.Hash, &created, &expires)
	sec.CreatedAt, sec.ExpiresAt = Time(created), Time(expires)
	return sec, err
}

// CustomerColumns are the columns Customer reads, in order.
const CustomerColumns = `id, org_id, email, first_name, last_name, company_name, type, created_at`

// Customer scans a customer row; a missing row is the driver's own error.
func Customer(r Scanner) (domain.Customer, error) {
	var c domain.Customer
	var created int64
	err := r.Scan(&c.ID, &c.OrgID, &c.Email, &c.FirstName, &c.LastName, &c.CompanyName, &c.Type, &created)
	c.CreatedAt = Time(created)
	return c, err
}

// SubscriptionColumns are the columns Subscription reads, in order.
const SubscriptionColumns = `id, org_id, customer_id, status, type, plan, number, estimated_usage,
	address_id, street, house_number, zip, city, meter_id, meter_number, meter_type, melo, malo,
	payment_id, iban_masked, account_holder, start_date, end_date, created_at, updated_at,
	billing_address_id, billing_street, billing_house_number, billing_zip, billing_city,
	billing_created_at, address_created_at, meter_created_at, payment_created_at`

// Subscription scans a subscription row; a missing row is the driver's own error.
func Subscription(r Scanner) (domain.Subscription, error) {
	var sub domain.Subscription
	var start, end, created, updated, billingCreated, addressCreated, meterCreated, paymentCreated int64
	a, b, m, p := &sub.Address, &sub.BillingAddress, &sub.Meter, &sub.Payment
	err := r.Scan(&sub.ID, &sub.OrgID, &sub.CustomerID, &sub.Status, &sub.Type, &sub.Plan, &sub.Number, &sub.EstimatedUsage,
		&a.ID, &a.Street, &a.HouseNumber, &a.Zip, &a.City, &m.ID, &m.Number, &m.Type, &m.MeLo, &m.MaLo,
		&p.ID, &p.IBANMasked, &p.AccountHolder, &start, &end, &created, &updated,
		&b.ID, &b.Street, &b.HouseNumber, &b.Zip, &b.City, &billingCreated, &addressCreated, &meterCreated, &paymentCreated)
	sub.StartDate, sub.EndDate = Time(start), Time(end)
	sub.CreatedAt, sub.UpdatedAt = Time(created), Time(updated)
	b.CreatedAt, a.CreatedAt, m.CreatedAt, p.CreatedAt = Time(billingCreated), Time(addressCreated), Time(meterCreated), Time(paymentCreated)
	return sub, err
}

// FamilyColumns are the columns Family reads, in order.
const FamilyColumns = `id, client_id, org_id, customer_id, grant_id, scopes, created_at, revoked_at, generation, generation_at, live_until, generation_key`

// FamilyValues are the arguments that insert fam as FamilyColumns.
func FamilyValues(fam domain.Family) []any {
	return []any{fam.ID, fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, ScopesText(fam.Scopes), Micros(fam.CreatedAt), Micros(fam.RevokedAt),
		int64(fam.Generation), Micros(fam.GenerationAt), Micros(fam.LiveUntil), fam.GenerationKey}
}

// familyRow is a family row as FamilyColumns scan it, alone or joined.
type familyRow struct {
	f                                          domain.Family
	scopes                                     string
	created, revoked, generation, genAt, until int64
}

func (r *familyRow) targets() []any {
	return []any{&r.f.ID, &r.f.ClientID, &r.f.OrgID, &r.f.CustomerID, &r.f.GrantID, &r.scopes, &r.created, &r.revoked, &r.generation, &r.genAt, &r.until, &r.f.GenerationKey}
}

func (r *familyRow) family() domain.Family {
	f := r.f
	f.Scopes, f.CreatedAt, f.RevokedAt = Scopes(r.scopes), Time(r.created), Time(r.revoked)
	f.Generation, f.GenerationAt, f.LiveUntil = uint64(r.generation), Time(r.genAt), Time(r.until)
	return f
}

// Family scans a refresh-token family row; a missing row is the driver's own error.
func Family(r Scanner) (domain.Family, error) {
	var row familyRow
	err := r.Scan(row.targets()...)
	return row.family(), err
}

// TokenColumns are the columns Token reads, in order.
const TokenColumns = `hash, family_id, state, created_at, expires_at, rotated_at, replaced_by`

// Token scans a refresh token row; a missing row is the driver's own error.
func Token(r Scanner) (domain.RefreshToken, error) {
	var t domain.RefreshToken
	var created, expires, rotated int64
	err := r.Scan(&t.Hash, &t.FamilyID, &t.State, &created, &expires, &rotated, &t.ReplacedBy)
	t.CreatedAt, t.ExpiresAt, t.RotatedAt = Time(created), Time(expires), Time(rotated)
	return t, err
}

// TokenFamilyColumns are the columns TokenFamily reads, in order: a
// refresh token (alias t) joined with its family (alias f).
const TokenFamilyColumns = `t.hash, t.family_id, t.state, t.created_at, t.expires_at, t.rotated_at, t.replaced_by,
	f.id, f.client_id, f.org_id, f.customer_id, f.grant_id, f.scopes, f.created_at, f.revoked_at, f.generation, f.generation_at, f.live_until, f.generation_key`

// TokenFamily scans a refresh token and its family from one joined row;
// a missing row is the driver's own error.
func TokenFamily(r Scanner) (domain.RefreshToken, domain.Family, error) {
	var t domain.RefreshToken
	var fam familyRow
	var created, expires, rotated int64
	err := r.Scan(append([]any{&t.Hash, &t.FamilyID, &t.State, &created, &expires, &rotated, &t.ReplacedBy}, fam.targets()...)...)
	t.CreatedAt, t.ExpiresAt, t.RotatedAt = Time(created), Time(expires), Time(rotated)
	return t, fam.family(), err
}

// KeyColumns are the columns Key reads, in order.
const KeyColumns = `id, algorithm, private_der, created_at, retired_at, published_until`

// Key scans a signing key row; a missing row is the driver's own error.
func Key(r Scanner) (domain.SigningKey, error) {
	var k domain.SigningKey
	var created, retired, until int64
	err := r.Scan(&k.ID, &k.Algorithm, &k.PrivateDER, &created, &retired, &until)
	k.CreatedAt, k.RetiredAt, k.PublishedUntil = Time(created), Time(retired), Time(until)
	return k, err
}

// SealKeyColumns are the columns SealKey reads, in order.
const SealKeyColumns = `id, secret, created_at, seals_from, retires_at`

// SealKey scans a seal key row; a missing row is the driver's own error.
func SealKey(r Scanner) (domain.SealKey, error) {
	var k domain.SealKey
	var created, from, retires int64
	err := r.Scan(&k.ID, &k.Secret, &created, &from, &retires)
	k.CreatedAt, k.SealsFrom, k.RetiresAt = Time(created), Time(from), Time(retires)
	return k, err
}

// GrantColumns are the columns Grant reads, in order.
const GrantColumns = `id, customer_id, client_id, org_id, scopes, created_at, updated_at, revoked_at, device_name`

// Grant scans a grant row; a missing row is the driver's own error.
func Grant(r Scanner) (domain.Grant, error) {
	var g domain.Grant
	var scopes string
	var created, updated, revoked int64
	err := r.Scan(&g.ID, &g.CustomerID, &g.ClientID, &g.OrgID, &scopes, &created, &updated, &revoked, &g.DeviceName)
	g.Scopes, g.CreatedAt, g.UpdatedAt, g.RevokedAt = Scopes(scopes), Time(created), Time(updated), Time(revoked)
	return g, err
}

// CodeColumns are the columns Code reads, in order.
const CodeColumns = `hash, client_id, org_id, customer_id, grant_id, redirect_uri, challenge, challenge_method, scopes, created_at, expires_at, used_at, family_id, nonce, auth_time`

// Code scans an authorization code row; a missing row is the driver's own error.
func Code(r Scanner) (domain.AuthCode, error) {
	var c domain.AuthCode
	var scopes string
	var created, expires, used, authTime int64
	err := r.Scan(&c.Hash, &c.ClientID, &c.OrgID, &c.CustomerID, &c.GrantID, &c.RedirectURI, &c.Challenge, &c.ChallengeMethod,
		&scopes, &created, &expires, &used, &c.FamilyID, &c.Nonce, &authTime)
	c.Scopes, c.CreatedAt, c.ExpiresAt, c.UsedAt, c.AuthTime = Scopes(scopes), Time(created), Time(expires), Time(used), Time(authTime)
	return c, err
}

// SessionColumns are the columns Session reads, in order.
const SessionColumns = `hash, customer_id, created_at, last_seen_at, expires_at, account_only`

// SessionValues are the arguments that insert ses as SessionColumns.
func SessionValues(ses domain.Session) []any {
	return []any{ses.Hash, ses.CustomerID, Micros(ses.CreatedAt), Micros(ses.LastSeenAt), Micros(ses.ExpiresAt), ses.AccountOnly}
}

// Session scans a session row; a missing row is the driver's own error.
func Session(r Scanner) (domain.Session, error) {
	var ses domain.Session
	var created, seen, expires int64
	err := r.Scan(&ses.Hash, &ses.CustomerID, &created, &seen, &expires, &ses.AccountOnly)
	ses.CreatedAt, ses.LastSeenAt, ses.ExpiresAt = Time(created), Time(seen), Time(expires)
	return ses, err
}

// OneTimeColumns are the columns OneTime reads, in order.
const OneTimeColumns = `id, browser_hash, email, code_hash, attempts, created_at, expires_at, used_at, signup_org_id, first_name, last_name`

// OneTime scans a one-time code row; a missing row is the driver's own error.
func OneTime(r Scanner) (domain.OneTimeCode, error) {
	var c domain.OneTimeCode
	var created, expires, used int64
	err := r.Scan(&c.ID, &c.BrowserHash, &c.Email, &c.CodeHash, &c.Attempts, &created, &expires, &used, &c.SignupOrgID, &c.FirstName, &c.LastName)
	c.CreatedAt, c.ExpiresAt, c.UsedAt = Time(created), Time(expires), Time(used)
	return c, err
}

// AuditColumns are the columns Audit reads, in order.
const AuditColumns = `id, at, action, actor_kind, actor_id, target_id, client_id, customer_id, source_addr, request_id`

// Audit scans one audit event.
func Audit(r Scanner) (domain.AuditEvent, error) {
	var e domain.AuditEvent
	var at int64
	var action, kind string
	err := r.Scan(&e.ID, &at, &action, &kind, &e.Actor.ID, &e.TargetID, &e.ClientID, &e.CustomerID, &e.SourceAddr, &e.RequestID)
	e.At, e.Action, e.Actor.Kind = Time(at), domain.AuditAction(action), domain.ActorKind(kind)
	return e, err
}

// DeviceColumns are the columns Device reads, in order.
const DeviceColumns = `id, device_code_hash, user_code_hash, client_id, org_id, scopes, device_name, requested_from,
	created_at, expires_at, interval_ms, last_polled_at, state, customer_id, grant_id, family_id`

// Device scans a device request.
func Device(r Scanner) (domain.DeviceRequest, error) {
	var d domain.DeviceRequest
	var scopes, state string
	var created, expires, interval, polled int64
	err := r.Scan(&d.ID, &d.DeviceCodeHash, &d.UserCodeHash, &d.ClientID, &d.OrgID, &scopes, &d.DeviceName, &d.RequestedFrom,
		&created, &expires, &interval, &polled, &state, &d.CustomerID, &d.GrantID, &d.FamilyID)
	d.Scopes, d.State = Scopes(scopes), domain.DeviceState(state)
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = Time(created), Time(expires), Time(polled)
	d.Interval = time.Duration(interval) * time.Millisecond
	return d, err
}
