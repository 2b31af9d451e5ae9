package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/nomosauth/nomosauth/internal/problem"
	"github.com/nomosauth/nomosauth/internal/store"
)

// Envelope is the error body of PRODUCT R4: the Nomos envelope, plus the
// RFC 6749 §5.2 fields on OAuth errors so standard clients understand them.
type Envelope struct {
	Code             string `json:"code"`
	Message          string `json:"message"`
	RequestID        string `json:"requestId"`
	Docs             string `json:"docs"`
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
	// Errors is the per-field breakdown of a validation failure.
	Errors []problem.FieldError `json:"errors,omitempty"`
}

// Problem is the problem err is shown as: a store that cannot reach or
// write its database is a 503 with Retry-After (PRODUCT S5), whatever
// wraps it; a *problem.Error is shown as it is; anything else is a 500
// whose cause only the log sees. WriteError and the pages' error page
// both ask it.
func Problem(err error) *problem.Error {
	if errors.Is(err, store.ErrUnavailable) {
		return problem.Unavailable(err)
	}
	var p *problem.Error
	if !errors.As(err, &p) {
		p = problem.Internal(err)
	}
	return p
}

// LogMessage is the log message for a request that failed with p:
// store.MsgUnavailable for an outage, else msg.
func LogMessage(p *problem.Error, msg string) string {
	if p.Status == http.StatusServiceUnavailable && errors.Is(p.Cause, store.ErrUnavailable) {
		return store.MsgUnavailable
	}
	return msg
}

// WriteError is the one place an error becomes a response, as Problem
// shows it.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := Problem(err)
	id := RequestID(r.Context())
	level := slog.LevelDebug
	if p.Status >= 500 {
		level = slog.LevelError
	}
	if p.Cause != nil || level == slog.LevelError {
		log.Log(r.Context(), level, LogMessage(p, "request failed"), "request_id", id, "status", p.Status, "code", p.Code, "oauth_error", p.OAuthError, "cause", errString(p.Cause))
	}
	for k, vs := range p.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	env := Envelope{Code: p.Code, Message: p.Message, RequestID: id, Docs: problem.DocsBase + p.Code, Errors: p.Fields}
	if p.OAuthError != "" {
		env.Error, env.ErrorDescription = p.OAuthError, problem.OAuthDescription(p.Message)
	}
	// RFC 6749 §5.1/§5.2: token responses, errors included, are never cached.
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, p.Status, env)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h for the JSON surfaces: a returned error goes to WriteError.
func Handle(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, log, err)
		}
	})
}

// Routes wraps mux so that its own 404 and 405 answers use the envelope
// (PRODUCT R4): for a request no pattern matches, the mux's answer is
// recorded, not sent, and its status and Allow header become a problem.
func Routes(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			setPattern(w, pattern)
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			WriteError(w, r, log, problem.MethodNotAllowed(rec.header.Get("Allow")))
			return
		}
		WriteError(w, r, log, problem.NotFound())
	})
}

// statusRecorder keeps a status and headers and drops the body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

// probeMethods are the methods Unrouted asks the mux about.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Unrouted is the answer for a request that reached a surface's catch-all
// pattern (its subtree) but none of its routes, once the surface has
// admitted it: 405 with Allow when a route of mux serves the path with
// another method (RFC 9110 §15.5.6), else 404, both in the envelope
// (PRODUCT R4). It asks the one mux, so no route list is kept twice.
func Unrouted(mux *http.ServeMux, r *http.Request) error {
	var allow []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		_, pattern := mux.Handler(probe)
		method, _, ok := strings.Cut(pattern, " ")
		if ok && (method == m || (m == http.MethodHead && method == http.MethodGet)) {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return problem.NotFound()
	}
	return problem.MethodNotAllowed(strings.Join(allow, ", "))
}
