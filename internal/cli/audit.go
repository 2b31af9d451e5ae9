package cli

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/admin"
	"github.com/nomosauth/nomosauth/internal/config"
	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
)

// auditJSON is an audit event as `audit list` prints it (PRODUCT O8).
type auditJSON struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Action     string    `json:"action"`
	ActorKind  string    `json:"actor_kind"`
	ActorID    string    `json:"actor_id,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	ClientID   string    `json:"client_id,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	SourceAddr string    `json:"source_addr,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
}

func toAuditJSON(ev domain.AuditEvent) auditJSON {
	return auditJSON{ev.ID, ev.At, string(ev.Action), string(ev.Actor.Kind), ev.Actor.ID, ev.TargetID, ev.ClientID, ev.CustomerID, ev.SourceAddr, ev.RequestID}
}

// auditLine is one event as a line of text: id, time, action, actor,
// target, then what is known of client, customer, address and request.
func auditLine(a auditJSON) string {
	actor := a.ActorKind
	if a.ActorID != "" {
		actor += ":" + a.ActorID
	}
	fields := []string{strconv.FormatInt(a.ID, 10), a.At.Format(time.RFC3339), a.Action, actor, cmp.Or(a.TargetID, "-")}
	for _, kv := range [][2]string{{"client", a.ClientID}, {"customer", a.CustomerID}, {"from", a.SourceAddr}, {"request", a.RequestID}} {
		if kv[1] != "" {
			fields = append(fields, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(fields, "  ")
}

// parseSince reads --since: an RFC 3339 time, a date (its UTC midnight),
// or a positive duration back from now ("24h", "7d").
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since wants an RFC 3339 time (2026-12-01T00:00:00Z), a date (2026-12-01) or a positive duration back from now (24h, 7d), got %q", v)
}

func runAuditList(e env, args []string) int {
	var since, action string
	var f store.AuditFilter
	var before int64
	var limit int
	var usageErr error
	now := time.Now()
	return adminCommand(e, "audit list", args,
		func(fs *flagSet) {
			fs.StringVar(&since, "since", "", "only events at or after this RFC 3339 time, or this long ago (24h, 7d)")
			fs.StringVar(&f.ClientID, "client", "", "only events concerning this client id")
			fs.StringVar(&f.CustomerID, "customer", "", "only events concerning this customer id")
			fs.StringVar(&action, "action", "", "only events of this action (client.created, consent.revoked, refresh.reuse_detected, ...)")
			fs.IntVar(&limit, "limit", admin.DefaultAuditPage, "at most this many events (1-1000)")
			fs.Int64Var(&before, "before", 0, "only events older than this event id: the next page after the last id shown")
		},
		func() []string {
			// Checked with the required flags, before the database opens.
			f.Action = domain.AuditAction(action)
			f.Since, usageErr = parseSince(since, now)
			if usageErr == nil {
				usageErr = admin.CheckAuditQuery(f, before, limit)
			}
			return nil
		},
		func(a *admin.Admin, cfg config.Config) int {
			if usageErr != nil {
				fail(e, usageErr)
				return exitUsage
			}
			events, err := a.ListAudit(e.ctx, f, before, limit)
			if err != nil {
				return fail(e, err)
			}
			rows := make([]auditJSON, len(events))
			for i, ev := range events {
				rows[i] = toAuditJSON(ev)
			}
			code := listOutput(e, cfg, rows, auditLine)
			if len(rows) == limit {
				// The page is full: say how to get the next one, on
				// stderr so stdout stays one event a line, or one array.
				fmt.Fprintf(e.stderr, "more events: add --before %d\n", rows[len(rows)-1].ID)
			}
			return code
		})
}
