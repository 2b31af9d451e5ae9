package txn

import (
	"context"
	"fmt"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// writeAudit appends e in tx, the transaction of the change it records,
// so the row commits exactly when the change does (PRODUCT O8).
func writeAudit(ctx context.Context, tx Querier, e domain.AuditEvent) error {
	if _, err := tx.Exec(ctx, `INSERT INTO audit_events (at, action, actor_kind, actor_id, target_id, client_id, customer_id, source_addr, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		rowcodec.Micros(e.At), string(e.Action), string(e.Actor.Kind), e.Actor.ID, e.TargetID, e.ClientID, e.CustomerID, e.SourceAddr, e.RequestID); err != nil {
		return fmt.Errorf("write audit row: %w", err)
	}
	return nil
}

// RecordAudit appends e on its own, for a decision that changes nothing else.
func (s *Store) RecordAudit(ctx context.Context, e domain.AuditEvent) error {
	return s.b.Write(ctx, func(tx Querier) error { return writeAudit(ctx, tx, e) })
}

// ListAudit lists the events f matches, newest first, before p.Before.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter, p store.AuditPage) ([]domain.AuditEvent, error) {
	return all(ctx, s.b.Reader(), rowcodec.Audit, `SELECT `+rowcodec.AuditColumns+` FROM audit_events
		WHERE (CAST($1 AS BIGINT) = 0 OR id < $1) AND at >= $2 AND ($3 = '' OR client_id = $3) AND ($4 = '' OR customer_id = $4) AND ($5 = '' OR action = $5)
		ORDER BY id DESC LIMIT $6`,
		p.Before, rowcodec.Micros(f.Since), f.ClientID, f.CustomerID, string(f.Action), p.Limit)
}
