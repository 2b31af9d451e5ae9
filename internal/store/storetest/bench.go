package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// BenchWrites measures a backend's durable write path, the one every
// token request takes, from parallel goroutines (b.SetParallelism 8):
// starting a family (client credentials) and rotating a refresh token.
func BenchWrites(b *testing.B, s store.Store) {
	ctx := b.Context()
	if err := s.CreateOrg(ctx, domain.Org{ID: "org_b", Name: "Bench", CreatedAt: base}); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateClient(ctx, domain.Client{ID: "client_b", OrgID: "org_b", Name: "B", Scopes: domain.APIScopes(), CreatedAt: base}, nil, sys(base)); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	family := func() (domain.Family, domain.RefreshToken) {
		n := seq.Add(1)
		return domain.Family{ID: fmt.Sprintf("fam_%d", n), ClientID: "client_b", OrgID: "org_b", Scopes: domain.APIScopes(), CreatedAt: base},
			domain.RefreshToken{Hash: fmt.Sprintf("rt_%d", n), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	}
	b.Run("IssueRefreshToken", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f, t := family()
				if err := s.IssueRefreshToken(ctx, f, t); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("RotateRefreshToken", func(b *testing.B) {
		rotate := func(domain.RefreshToken, domain.Family, *domain.RefreshToken) (domain.RefreshDecision, error) {
			return domain.RefreshDecision{Verdict: domain.RefreshRotate}, nil
		}
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			f, t := family()
			if err := s.IssueRefreshToken(ctx, f, t); err != nil {
				b.Error(err)
				return
			}
			current := t.Hash
			for pb.Next() {
				next := fmt.Sprintf("rt_%d", seq.Add(1))
				if _, err := s.RotateRefreshToken(ctx, current, domain.RefreshToken{Hash: next, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}, sys(base), rotate); err != nil {
					b.Error(err)
					return
				}
				current = next
			}
		})
	})
}
