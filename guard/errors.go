package guard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Problem codes, the same strings latch uses (docs/api.md).
const (
	codeMissingToken   = "missing_token"
	codeInvalidToken   = "invalid_token"
	codeTokenExpired   = "token_expired"
	codeSessionRevoked = "session_revoked"
	codeUnavailable    = "unavailable"
)

// Refusal is why guard refused a token: an HTTP status (401 or 503) and
// latch's stable problem code. Its message never contains the token.
type Refusal struct {
	Status  int
	Code    string
	Message string
}

func (r *Refusal) Error() string { return "guard: " + r.Code + ": " + r.Message }

func refusal(status int, code, msg string) *Refusal {
	return &Refusal{Status: status, Code: code, Message: msg}
}

func unavailable(msg string) *Refusal {
	return refusal(http.StatusServiceUnavailable, codeUnavailable, msg)
}

// bearer extracts the RFC 6750 bearer token: one Authorization header,
// scheme Bearer, a b64token.
func bearer(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", refusal(401, codeMissingToken, "this endpoint requires a bearer access token")
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", refusal(401, codeMissingToken, "this endpoint requires a bearer access token")
	}
	tok := strings.TrimLeft(rest, " ")
	if len(vals) > 1 || !isB64Token(tok) {
		return "", refusal(401, codeInvalidToken, "the access token is invalid: malformed bearer credentials")
	}
	return tok, nil
}

// isB64Token checks 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// problem is the RFC 9457 document latch writes.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// refuse writes err as latch does: problem JSON, the Bearer challenge on
// 401 (bare without credentials), Retry-After on 503.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, err error) {
	ref, ok := errors.AsType[*Refusal](err)
	if !ok {
		g.logger.Error("unexpected error checking a token", "err", err)
		ref = unavailable("the token could not be checked")
	}
	h := w.Header()
	switch ref.Status {
	case http.StatusUnauthorized:
		if ref.Code == codeMissingToken {
			h.Set("WWW-Authenticate", `Bearer realm="`+g.cfg.Realm+`"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="`+g.cfg.Realm+`", error="invalid_token", error_description="`+ref.Code+`"`)
		}
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.Itoa(1))
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(ref.Status)
	json.NewEncoder(w).Encode(problem{
		Type: "urn:latch:problem:" + ref.Code, Title: http.StatusText(ref.Status), Status: ref.Status,
		Detail: ref.Message, Code: ref.Code,
	})
}
