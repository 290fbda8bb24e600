package server

import (
	"net/http"
	"strings"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/token"
)

// bearer extracts the token of an RFC 6750 Authorization header. ok is false
// when there is no bearer credential at all (no header, or another scheme);
// a Bearer header with a malformed token yields an error.
func bearer(r *http.Request) (tok string, ok bool, err error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", false, nil
	}
	if len(vals) > 1 {
		return "", true, invalidToken("more than one Authorization header")
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	tok = strings.TrimLeft(rest, " ")
	if !isB64Token(tok) {
		return "", true, invalidToken("malformed bearer token")
	}
	return tok, true, nil
}

// b64tokenChar marks the bytes RFC 6750 allows in a b64token before the
// '=' padding: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/". A table
// keeps the per-request scan of a ~600-byte token cheap.
var b64tokenChar = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

// isB64Token checks the RFC 6750 b64token grammar:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && b64tokenChar[s[i]] {
		i++
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

func invalidToken(msg string) *latch.Error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "the access token is invalid: " + msg}
}

// requireAuth authenticates the bearer token on every request: signature,
// claims and a live session. Without credentials the client gets a bare
// Bearer challenge.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok, err := bearer(r)
		if err == nil && !ok {
			err = &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeMissingToken, Message: "this endpoint requires a bearer access token"}
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := s.latch.Authenticate(r.Context(), tok)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		logPrincipal(r, p)
		// The principal rides in the request's info record, which the
		// context already carries: no second context and request copy on
		// the hot path.
		infoFrom(r.Context()).principal = p
		next.ServeHTTP(w, r)
	})
}

// logPrincipal puts the authenticated session in the request log line.
func logPrincipal(r *http.Request, p *latch.Principal) {
	ri := infoFrom(r.Context())
	ri.sessionID, ri.userID = string(p.SessionID), string(p.UserID)
}

// logGrant puts the session a sign-up, login or refresh produced in the
// request log line.
func logGrant(r *http.Request, g *latch.Grant) {
	logPrincipal(r, &latch.Principal{UserID: g.Session.UserID, SessionID: g.Session.ID})
}

// principal returns the authenticated caller; requireAuth guarantees it.
func principal(r *http.Request) *latch.Principal {
	if p := infoFrom(r.Context()).principal; p != nil {
		return p
	}
	p, _ := latch.PrincipalFrom(r.Context())
	return p
}

func isCanonicalUUID(s string) bool { return token.IsCanonicalUUID(s) }
