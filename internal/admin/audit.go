package admin

import (
	"context"
	"strings"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// The page sizes of ListAudit.
const (
	DefaultAuditPage = 50
	MaxAuditPage     = 1000
)

// ListAudit lists audit events newest first (PRODUCT O8): those f matches,
// older than the event before (0: from the newest), at most limit (0: the
// default page).
func (a *Admin) ListAudit(ctx context.Context, f store.AuditFilter, before int64, limit int) ([]domain.AuditEvent, error) {
	switch {
	case f.Action != "" && !f.Action.Known():
		return nil, problem.BadRequest("unknown action " + problem.Quote(string(f.Action)) + "; actions: " + actionList())
	case limit < 0 || limit > MaxAuditPage:
		return nil, problem.BadRequest("limit must be between 1 and 1000")
	case before < 0:
		return nil, problem.BadRequest("before must be an event id")
	}
	if limit == 0 {
		limit = DefaultAuditPage
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
