package store

import (
	"context"
	"errors"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
)

// Sentinel errors, checked with errors.Is and translated where their meaning
// is known.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// RefreshDecider is the pure refresh rule the store runs inside its
// transaction, on the rows as they are there (oauth.DecideRefresh). It may be
// called more than once and must do no I/O.
type RefreshDecider func(tok domain.RefreshToken, fam domain.Family, child *domain.RefreshToken) (domain.RefreshVerdict, error)

// Rotation is the outcome of RotateRefreshToken.
type Rotation struct {
	Verdict domain.RefreshVerdict
	Family  domain.Family
}

// Store is everything nomosauth keeps. Methods take hashes, never secrets,
// and return records by value; a missing record is ErrNotFound. Writes that
// return nil are durable (PRODUCT S2).
type Store interface {
	CreateOrg(ctx context.Context, org domain.Org) error
	GetOrg(ctx context.Context, id string) (domain.Org, error)
	ListOrgs(ctx context.Context) ([]domain.Org, error)

	// CreateClient stores a client with its first secret (none for public clients).
	CreateClient(ctx context.Context, c domain.Client, secret *domain.ClientSecret) error
	GetClient(ctx context.Context, id string) (domain.Client, error)
	ListClients(ctx context.Context, orgID string) ([]domain.Client, error)
	// ClientSecrets returns every stored secret of the client, current and overlapping.
	ClientSecrets(ctx context.Context, clientID string) ([]domain.ClientSecret, error)
	// RotateClientSecret adds a secret and sets every older secret still
	// valid at its creation to expire at oldExpiresAt (PRODUCT S1).
	RotateClientSecret(ctx context.Context, secret domain.ClientSecret, oldExpiresAt time.Time) error
	DisableClient(ctx context.Context, id string) error

	// CreateCustomer fails with ErrConflict when the email, compared
	// case-insensitively, is taken anywhere on the server.
	CreateCustomer(ctx context.Context, c domain.Customer) error
	GetCustomer(ctx context.Context, id string) (domain.Customer, error)
	CreateSubscription(ctx context.Context, s domain.Subscription) error
	GetSubscription(ctx context.Context, id string) (domain.Subscription, error)

	// IssueRefreshToken starts a family with its first live token.
	IssueRefreshToken(ctx context.Context, fam domain.Family, tok domain.RefreshToken) error
	// RotateRefreshToken presents the token with hash presented. In one
	// transaction it loads the token, its family and its child, asks decide,
	// and acts on the verdict: Rotate and Retry store next as the family's one
	// live token; Reuse revokes the family at now. An error from decide
	// changes nothing and is returned as is.
	RotateRefreshToken(ctx context.Context, presented string, next domain.RefreshToken, now time.Time, decide RefreshDecider) (Rotation, error)
	GetFamily(ctx context.Context, id string) (domain.Family, error)
	// FamilyTokens lists a family's tokens, oldest first.
	FamilyTokens(ctx context.Context, familyID string) ([]domain.RefreshToken, error)
	RevokeFamily(ctx context.Context, id string, at time.Time) error

	// AddSigningKey stores k as the active key. With retireOthers it retires
	// every active key at k.CreatedAt, published until publishUntil;
	// without, it fails with ErrConflict when an active key exists, so that
	// replicas starting together create one first key.
	AddSigningKey(ctx context.Context, k domain.SigningKey, retireOthers bool, publishUntil time.Time) error
	ListSigningKeys(ctx context.Context) ([]domain.SigningKey, error)

	// DeleteExpired removes what has expired by now and can no longer
	// matter (PRODUCT O6), and returns how many rows went.
	DeleteExpired(ctx context.Context, now time.Time, keepRevoked time.Duration) (int64, error)

	Ping(ctx context.Context) error
	Close() error
}
