package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/latchauth/latch"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[latch.Kind]int{
	latch.KindInvalid:         http.StatusUnprocessableEntity,
	latch.KindUnauthenticated: http.StatusUnauthorized,
	latch.KindForbidden:       http.StatusForbidden,
	latch.KindNotFound:        http.StatusNotFound,
	latch.KindConflict:        http.StatusConflict,
	latch.KindRateLimited:     http.StatusTooManyRequests,
	latch.KindUnavailable:     http.StatusServiceUnavailable,
	latch.KindInternal:        http.StatusInternalServerError,
}

// httpError is a transport-level failure (bad JSON, wrong media type, body
// too large) that never reached the service.
type httpError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *httpError) Error() string { return e.code + ": " + e.message }

func badRequest(code, msg string) *httpError {
	return &httpError{status: http.StatusBadRequest, code: code, message: msg}
}

// problem is an RFC 9457 problem details document with latch's stable code.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
}

// problemType is the URI naming each problem; docs/api.md lists them.
func problemType(code string) string { return "urn:latch:problem:" + code }

// writeError writes err as problem JSON. 401s carry the RFC 6750 challenge:
// bare when no credentials were sent, error="invalid_token" otherwise.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problem{Status: http.StatusInternalServerError, Code: latch.CodeInternal, Detail: "an internal error occurred"}
	retryAfter := 0
	var (
		le *latch.Error
		he *httpError
	)
	switch {
	case errors.As(err, &le):
		p.Status, p.Code, p.Detail, p.Field = statusOf[le.Kind], le.Code, le.Message, le.Field
		retryAfter = le.RetryAfter
		if p.Status == 0 {
			p.Status = http.StatusInternalServerError
		}
		switch {
		case errors.Is(le.Err, errDraining):
			s.logger.LogAttrs(r.Context(), slog.LevelInfo, "not ready: shutting down")
		case le.Code == latch.CodeBusy || le.Code == latch.CodeRateLimited:
			// Load shedding works as designed: worth a warning, not an error.
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "request shed", slog.String("code", le.Code))
		case le.Kind == latch.KindUnavailable || le.Kind == latch.KindInternal:
			s.logger.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("code", le.Code), slog.Any("err", le.Err))
		}
	case errors.As(err, &he):
		p.Status, p.Code, p.Detail, p.Field = he.status, he.code, he.message, he.field
	default:
		s.logger.LogAttrs(r.Context(), slog.LevelError, "internal error", slog.Any("err", err))
	}
	p.Type, p.Title = problemType(p.Code), http.StatusText(p.Status)

	h := w.Header()
	if p.Status == http.StatusUnauthorized {
		if p.Code == latch.CodeInvalidClient {
			h.Set("WWW-Authenticate", basicChallenge)
		} else if p.Code == latch.CodeMissingToken {
			h.Set("WWW-Authenticate", `Bearer realm="latch"`)
		} else if isTokenProblem(p.Code) {
			h.Set("WWW-Authenticate", `Bearer realm="latch", error="invalid_token", error_description="`+p.Code+`"`)
		}
	}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// isTokenProblem reports whether a 401 is about the bearer token (as opposed
// to, say, wrong credentials on login, which is not a bearer challenge).
func isTokenProblem(code string) bool {
	switch code {
	case latch.CodeInvalidToken, latch.CodeTokenExpired, latch.CodeTokenSuperseded,
		latch.CodeSessionRevoked, latch.CodeSessionExpired:
		return true
	}
	return false
}
