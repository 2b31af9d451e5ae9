package txn

import (
	"context"
	"time"

	"github.com/nomosauth/nomosauth/internal/domain"
	"github.com/nomosauth/nomosauth/internal/store"
	"github.com/nomosauth/nomosauth/internal/store/rowcodec"
)

// deviceSlowDownStep is what each slow_down adds to a device's interval
// (RFC 8628 §3.5; oauth.DeviceSlowDownStep, which the store cannot import).
const deviceSlowDownStep = 5 * time.Second

// CreateDeviceRequest stores a new pending device request (PRODUCT T11).
func (s *Store) CreateDeviceRequest(ctx context.Context, d domain.DeviceRequest) error {
	return s.b.Write(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO device_requests (`+rowcodec.DeviceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, '', '', '')`,
			d.ID, d.DeviceCodeHash, d.UserCodeHash, d.ClientID, d.OrgID, rowcodec.ScopesText(d.Scopes), d.DeviceName, d.RequestedFrom,
			rowcodec.Micros(d.CreatedAt), rowcodec.Micros(d.ExpiresAt), d.Interval.Milliseconds(), string(domain.DevicePending))
		return err
	})
}

// DeviceRequestByUserCode loads the request whose user code has hash h.
func (s *Store) DeviceRequestByUserCode(ctx context.Context, h string) (domain.DeviceRequest, error) {
	return rowcodec.Device(s.b.Reader().QueryRow(ctx, `SELECT `+rowcodec.DeviceColumns+` FROM device_requests WHERE user_code_hash = $1`, h))
}

// AnswerDeviceRequest records the customer's answer; see store.Devices.
func (s *Store) AnswerDeviceRequest(ctx context.Context, id string, approve bool, g domain.Grant, by domain.Origin) (domain.DeviceRequest, error) {
	var out domain.DeviceRequest
	err := s.b.Write(ctx, func(tx Querier) error {
		d, err := rowcodec.Device(tx.QueryRow(ctx, `SELECT `+rowcodec.DeviceColumns+` FROM device_requests WHERE id = $1`+s.d.ForUpdate, id))
		if err != nil {
			return err
		}
		if d.State != domain.DevicePending || !by.At.Before(d.ExpiresAt) {
			return store.ErrConflict
		}
		if !approve {
			d.State = domain.DeviceDenied
			if _, err := tx.Exec(ctx, `UPDATE device_requests SET state = $1 WHERE id = $2`, string(d.State), d.ID); err != nil {
				return err
			}
			out = d
			return writeAudit(ctx, tx, by.Event(domain.AuditDeviceDenied, d.ID, d.ClientID, by.Actor.ID))
		}
		g.ClientID, g.OrgID, g.Scopes, g.DeviceName = d.ClientID, d.OrgID, d.Scopes, d.DeviceName
		grant, err := s.upsertGrantIn(ctx, tx, g, by)
		if err != nil {
			return err
		}
		d.State, d.CustomerID, d.GrantID = domain.DeviceApproved, grant.CustomerID, grant.ID
		if _, err := tx.Exec(ctx, `UPDATE device_requests SET state = $1, customer_id = $2, grant_id = $3 WHERE id = $4`,
			string(d.State), d.CustomerID, d.GrantID, d.ID); err != nil {
			return err
		}
		out = d
		return writeAudit(ctx, tx, by.Event(domain.AuditDeviceApproved, d.ID, d.ClientID, d.CustomerID))
	})
	return out, err
}

// PollDevice runs the device poll rule on the request's row inside one
// transaction, the row locked, so concurrent polls on any replica are
// judged one after another and tokens go out once (PRODUCT T11, S3).
func (s *Store) PollDevice(ctx context.Context, presented string, fam domain.Family, by domain.Origin, decide store.DeviceDecider) (store.DevicePoll, error) {
	var out store.DevicePoll
	err := s.b.Write(ctx, func(tx Querier) error {
		out = store.DevicePoll{}
		d, err := rowcodec.Device(tx.QueryRow(ctx, `SELECT `+rowcodec.DeviceColumns+` FROM device_requests WHERE device_code_hash = $1`+s.d.ForUpdate, presented))
		if err != nil {
			return err
		}
		var grant domain.Grant
		if d.GrantID != "" {
			// The grant is held (FOR SHARE) so a revocation committing
			// meanwhile waits: a revoked grant issues nothing (PRODUCT A11).
			if grant, err = rowcodec.Grant(tx.QueryRow(ctx, `SELECT `+rowcodec.GrantColumns+` FROM grants WHERE id = $1`+s.d.ForShare, d.GrantID)); err != nil {
				return err
			}
		}
		verdict, err := decide(d, grant)
		if err != nil {
			return err
		}
		out = store.DevicePoll{Verdict: verdict, Request: d}
		switch verdict {
		case domain.DevicePollPending, domain.DevicePollSlowDown:
			if verdict == domain.DevicePollSlowDown {
				out.Request.Interval += deviceSlowDownStep
			}
			out.Request.LastPolledAt = by.At
			_, err := tx.Exec(ctx, `UPDATE device_requests SET last_polled_at = $1, interval_ms = $2 WHERE id = $3`,
				rowcodec.Micros(by.At), out.Request.Interval.Milliseconds(), d.ID)
			return err
		case domain.DevicePollIssue:
		case domain.DevicePollExpired, domain.DevicePollDenied, domain.DevicePollRedeemed:
			return nil
		default:
			return errBadVerdict
		}
		fam.ClientID, fam.OrgID, fam.CustomerID, fam.GrantID, fam.Scopes = d.ClientID, d.OrgID, d.CustomerID, d.GrantID, d.Scopes
		out.Family = fam
		out.Request.State, out.Request.FamilyID = domain.DeviceRedeemed, fam.ID
		if _, err := tx.Exec(ctx, `UPDATE device_requests SET state = $1, family_id = $2 WHERE id = $3`, string(domain.DeviceRedeemed), fam.ID, d.ID); err != nil {
			return err
		}
		return StartFamily(ctx, tx, fam)
	})
	return out, err
}
