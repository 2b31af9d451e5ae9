package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Pagination bounds (PRODUCT R7).
const (
	defaultLimit = 10
	maxLimit     = 100
)

// cursor layout: version(1) | created_at micros(8) | query hash(8) | id.
// The whole is followed by a 16-byte HMAC-SHA256 tag, so a client can
// neither forge a position nor carry a cursor over to another query.
const (
	cursorVersion = 1
	cursorHeader  = 1 + 8 + 8
	cursorTagLen  = 16
	maxCursorLen  = 256
)

// listQuery is one list request's pagination: where to start, how many,
// and the fingerprint of everything else that selects its rows.
type listQuery struct {
	page        store.Page
	fingerprint [8]byte
}

// parseList reads limit and cursor. scope names the list and every filter
// that selects its rows, caller included; a cursor made under another
// scope is refused, since it would skip or repeat rows of this one.
func (a *API) parseList(q url.Values, scope string) (listQuery, error) {
	sum := sha256.Sum256([]byte(scope))
	lq := listQuery{page: store.Page{Limit: defaultLimit}}
	copy(lq.fingerprint[:], sum[:8])
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || strings.HasPrefix(v, "+") {
			return lq, problem.Invalid(problem.FieldError{Code: "invalid_type", Field: "limit", Message: "Expected an integer from 1 to 100"})
		}
		if n < 1 {
			return lq, problem.Invalid(problem.FieldError{Code: "too_small", Field: "limit", Message: "Must be at least 1"})
		}
		if n > maxLimit {
			return lq, problem.Invalid(problem.FieldError{Code: "too_big", Field: "limit", Message: "Must be at most 100"})
		}
		lq.page.Limit = n
	}
	if raw := q.Get("cursor"); raw != "" {
		after, err := a.openCursor(raw, lq.fingerprint)
		if err != nil {
			return lq, err
		}
		lq.page.After = after
	}
	return lq, nil
}

func (a *API) sealCursor(after store.Cursor, fingerprint [8]byte) string {
	buf := make([]byte, 0, cursorHeader+len(after.ID)+cursorTagLen)
	buf = append(buf, cursorVersion)
	buf = binary.BigEndian.AppendUint64(buf, uint64(after.CreatedAt.UnixMicro()))
	buf = append(buf, fingerprint[:]...)
	buf = append(buf, after.ID...)
	buf = append(buf, a.cursorTag(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

func (a *API) cursorTag(payload []byte) []byte {
	mac := hmac.New(sha256.New, a.CursorKey)
	mac.Write(payload)
	return mac.Sum(nil)[:cursorTagLen]
}

// openCursor checks a cursor's tag and query fingerprint (PRODUCT R7: a
// tampered cursor is a 400).
func (a *API) openCursor(raw string, fingerprint [8]byte) (store.Cursor, error) {
	bad := problem.Invalid(problem.FieldError{Code: "custom", Field: "cursor",
		Message: "Invalid cursor: use next_page from the previous page of this same query"})
	if len(raw) > maxCursorLen {
		return store.Cursor{}, bad
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(raw) // one encoding per cursor
	if err != nil || len(buf) < cursorHeader+1+cursorTagLen || buf[0] != cursorVersion {
		return store.Cursor{}, bad
	}
	payload, tag := buf[:len(buf)-cursorTagLen], buf[len(buf)-cursorTagLen:]
	if !hmac.Equal(tag, a.cursorTag(payload)) {
		return store.Cursor{}, bad
	}
	if !hmac.Equal(payload[9:17], fingerprint[:]) {
		// A genuine cursor of another query: another list, caller or set
		// of filters (PRODUCT R9: a cursor remembers its filters).
		return store.Cursor{}, problem.Invalid(problem.FieldError{Code: "custom", Field: "cursor",
			Message: "This cursor belongs to a query with other filters: repeat the query it came from, or start again without a cursor"})
	}
	return store.Cursor{
		CreatedAt: time.UnixMicro(int64(binary.BigEndian.Uint64(payload[1:9]))).UTC(),
		ID:        string(payload[cursorHeader:]),
	}, nil
}

// List is the body of every list endpoint (PRODUCT R7).
type List[T any] struct {
	Object   string  `json:"object"`
	Items    []T     `json:"items"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
}

// page turns up to limit+1 rows, newest first, into a list body: the extra
// row only says there is more.
func page[R, T any](a *API, lq listQuery, rows []R, key func(R) store.Cursor, view func(R) T) List[T] {
	out := List[T]{Object: "list", Items: make([]T, 0, min(len(rows), lq.page.Limit))}
	for i, r := range rows {
		if i == lq.page.Limit {
			out.HasMore = true
			next := a.sealCursor(key(rows[i-1]), lq.fingerprint)
			out.NextPage = &next
			break
		}
		out.Items = append(out.Items, view(r))
	}
	return out
}

// fetchPage asks the store for one row more than the page holds.
func (lq listQuery) fetchPage() store.Page {
	return store.Page{After: lq.page.After, Limit: lq.page.Limit + 1}
}
