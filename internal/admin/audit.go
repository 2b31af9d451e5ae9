package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// The page sizes of ListAudit: the CLI's default, and the most at once.
const (
	DefaultAuditPage = 50
	MaxAuditPage     = 1000
)

// AuditLister is what operators do with the audit log: read it.
type AuditLister interface {
	ListAudit(ctx context.Context, f store.AuditFilter, p store.AuditPage) ([]domain.AuditEvent, error)
}

// CheckAuditQuery checks an audit listing's filter and page before any
// database is asked: a known action, 1 to MaxAuditPage events, an event id
// (or 0) to list before.
func CheckAuditQuery(f store.AuditFilter, before int64, limit int) error {
	switch {
	case f.Action != "" && !f.Action.Known():
		return problem.BadRequest("action " + problem.Quote(string(f.Action)) + " is no audited action; actions: " + actionList())
	case limit < 1 || limit > MaxAuditPage:
		return problem.BadRequest(fmt.Sprintf("limit must be between 1 and %d", MaxAuditPage))
	case before < 0:
		return problem.BadRequest("before must be an event id")
	}
	return nil
}

// ListAudit lists audit events newest first (PRODUCT O8): those f matches,
// older than the event before (0: from the newest), at most limit.
func (a *Admin) ListAudit(ctx context.Context, f store.AuditFilter, before int64, limit int) ([]domain.AuditEvent, error) {
	if err := CheckAuditQuery(f, before, limit); err != nil {
		return nil, err
	}
	events, err := a.Audit.ListAudit(ctx, f, store.AuditPage{Before: before, Limit: limit})
	return events, translate(err, "audit event")
}

func actionList() string {
	names := domain.AuditActionNames()
	out := make([]string, len(names))
	for i, act := range names {
		out[i] = string(act)
	}
	return strings.Join(out, ", ")
}
