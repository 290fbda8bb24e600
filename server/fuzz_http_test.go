package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/jwtattack"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

// FuzzAuthorizationHeader drives the whole per-request path, from the
// Authorization header through bearer parsing, token verification and the
// session check, with arbitrary header values. The answer is 200 only for
// genuine tokens of the session, otherwise 401 with an RFC 6750 challenge; never a
// 5xx, never another status.
func FuzzAuthorizationHeader(f *testing.F) {
	env := latchtest.New(f, latchtest.Options{Limits: latch.Limits{Off: true}})
	g, err := env.Service.Signup(f.Context(), "fuzz@example.com", testPassword, deviceFor())
	if err != nil {
		f.Fatal(err)
	}
	h := server.New(env.Service, env.Store, server.Options{})
	valid := g.AccessToken
	f.Add("Bearer " + valid)
	f.Add("bearer  " + valid)
	f.Add("Bearer " + g.RefreshToken)
	f.Add("Basic YTpi")
	f.Add("")
	p, _ := env.Service.Authenticate(f.Context(), valid)
	gen := &jwtattack.Gen{Key: env.Service.KeySet().Signer(), Claims: p.Claims}
	genuine := map[string]bool{valid: true, gen.Valid(): true} // the generator re-signs the same claims
	for _, tc := range gen.Cases(valid) {
		f.Add("Bearer " + tc.Token)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/v1/me", nil)
		r.Header["Authorization"] = []string{header}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			scheme, tok, _ := strings.Cut(header, " ")
			if !strings.EqualFold(scheme, "Bearer") || !genuine[strings.TrimLeft(tok, " ")] {
				t.Fatalf("200 for Authorization %q", header)
			}
		case http.StatusUnauthorized:
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("401 without a Bearer challenge for %q", header)
			}
		default:
			t.Fatalf("status %d for Authorization %q: %s", w.Code, header, w.Body)
		}
	})
}
