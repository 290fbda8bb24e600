package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
)

// rowCounts snapshots what a request could have written.
func (h *harness) rowCounts() map[string]int {
	h.t.Helper()
	counts := map[string]int{}
	for _, table := range []string{"users", "sessions", "revocations", "signing_keys"} {
		var n int
		if err := h.env.Store.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			h.t.Fatal(err)
		}
		counts[table] = n
	}
	var gen int
	h.env.Store.DB().QueryRow(`SELECT coalesce(sum(generation), 0) FROM sessions`).Scan(&gen)
	counts["generations"] = gen
	return counts
}

// Bad input never yields a 5xx and never writes anything.
func TestBadInput(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	s := h.signup("exists@example.com")
	at, rt := s.str(t, "access_token"), s.str(t, "refresh_token")
	json := "Content-Type: application/json"
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code, field              string
	}{
		{"malformed JSON", "POST", "/v1/signup", `{"email":`, nil, 400, "invalid_request", ""},
		{"not an object", "POST", "/v1/signup", `["a@example.com"]`, nil, 400, "invalid_request", ""},
		{"trailing data", "POST", "/v1/signup", `{"email":"a@example.com","password":"12345678"} {}`, nil, 400, "invalid_request", ""},
		{"duplicate key", "POST", "/v1/signup", `{"email":"a@example.com","password":"12345678","password":"x"}`, nil, 400, "invalid_request", ""},
		{"deep nesting", "POST", "/v1/signup", `{"email":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`, nil, 400, "invalid_request", ""},
		{"invalid utf-8", "POST", "/v1/login", "{\"email\":\"a@example.com\",\"password\":\"1234567\xff\"}", nil, 400, "invalid_request", ""},
		{"lone surrogate", "POST", "/v1/login", `{"email":"a@example.com","password":"\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800"}`, nil, 400, "invalid_request", ""},
		{"utf-16 charset", "POST", "/v1/login", `{"email":"a@example.com","password":"12345678"}`, []string{"Content-Type: ", "Content-Type: application/json; charset=utf-16"}, 415, "unsupported_media_type", ""},
		{"email with escapes", "POST", "/v1/login", `{"email":"\u001b[2Jx@example.com","password":"12345678"}`, nil, 422, "validation_failed", "email"},
		{"unknown field", "POST", "/v1/signup", `{"email":"a@example.com","password":"12345678","admin":true}`, nil, 400, "invalid_request", "admin"},
		{"long unknown field", "POST", "/v1/signup", `{"email":"a@example.com","password":"12345678","` + strings.Repeat("é", 30000) + `":1}`, nil, 400, "invalid_request", strings.Repeat("é", 32) + "…"},
		{"compressed body", "POST", "/v1/signup", `{"email":"gz@example.com","password":"58213907"}`, []string{"Content-Encoding: gzip"}, 415, "unsupported_media_type", ""},
		{"compressed body, listed codings", "POST", "/v1/login", `{"email":"a@example.com","password":"12345678"}`, []string{"Content-Encoding: identity, br"}, 415, "unsupported_media_type", ""},
		{"case-folded field", "POST", "/v1/signup", `{"EMAIL":"a@example.com","password":"12345678"}`, nil, 400, "invalid_request", "EMAIL"},
		{"wrong type", "POST", "/v1/signup", `{"email":42,"password":"12345678"}`, nil, 400, "invalid_request", "email"},
		{"null field", "POST", "/v1/signup", `{"email":null,"password":"12345678"}`, nil, 422, "validation_failed", "email"},
		{"empty body", "POST", "/v1/signup", ``, []string{json}, 400, "invalid_request", ""},
		{"whitespace body", "POST", "/v1/signup", "  \n ", nil, 400, "invalid_request", ""},
		{"wrong content type", "POST", "/v1/signup", `{"email":"a@example.com","password":"12345678"}`, []string{"Content-Type: ", "Content-Type: text/plain"}, 415, "unsupported_media_type", ""},
		{"form content type", "POST", "/v1/login", `email=a&password=b`, []string{"Content-Type: ", "Content-Type: application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"oversized body", "POST", "/v1/signup", `{"email":"a@example.com","password":"` + strings.Repeat("x", 70<<10) + `"}`, nil, 413, "payload_too_large", ""},
		{"missing password", "POST", "/v1/signup", `{"email":"a@example.com"}`, nil, 422, "validation_failed", "password"},
		{"missing email", "POST", "/v1/signup", `{"password":"12345678"}`, nil, 422, "validation_failed", "email"},
		{"common password", "POST", "/v1/signup", `{"email":"new@example.com","password":"Iloveyou1"}`, nil, 422, "validation_failed", "password"},
		{"common new password", "POST", "/v1/password", `{"current_password":"` + testPassword + `","new_password":"Trustno1"}`, []string{bearer(at)}, 422, "validation_failed", "new_password"},
		{"missing new password", "POST", "/v1/password", `{"current_password":"not the password"}`, []string{bearer(at)}, 422, "validation_failed", "new_password"},
		{"wrong current password", "POST", "/v1/password", `{"current_password":"not the password","new_password":"a brand new passphrase"}`, []string{bearer(at)}, 401, "invalid_credentials", "current_password"},
		{"taken email", "POST", "/v1/signup", `{"email":"EXISTS@example.com","password":"58213907"}`, nil, 409, "email_taken", "email"},
		{"bad login", "POST", "/v1/login", `{"email":"exists@example.com","password":"wrong wrong"}`, nil, 401, "invalid_credentials", ""},
		{"login missing fields", "POST", "/v1/login", `{}`, nil, 422, "validation_failed", "email"},
		{"no auth", "GET", "/v1/me", "", nil, 401, "missing_token", ""},
		{"basic auth", "GET", "/v1/me", "", []string{"Authorization: Basic YTpi"}, 401, "missing_token", ""},
		{"bearer no token", "GET", "/v1/me", "", []string{"Authorization: Bearer "}, 401, "invalid_token", ""},
		{"bearer garbage", "GET", "/v1/me", "", []string{"Authorization: Bearer ***"}, 401, "invalid_token", ""},
		{"bearer with non-ASCII", "GET", "/v1/me", "", []string{"Authorization: Bearer a\xffb"}, 401, "invalid_token", ""},
		{"bearer with tab", "GET", "/v1/me", "", []string{"Authorization: Bearer a\tb"}, 401, "invalid_token", ""},
		{"bearer non-token", "GET", "/v1/me", "", []string{"Authorization: Bearer abc.def.ghi"}, 401, "invalid_token", ""},
		{"bearer refresh token", "GET", "/v1/me", "", []string{"Authorization: Bearer " + rt}, 401, "invalid_token", ""},
		{"two auth headers", "GET", "/v1/me", "", []string{bearer(at), bearer(at)}, 401, "invalid_token", ""},
		{"huge token", "GET", "/v1/me", "", []string{"Authorization: Bearer " + strings.Repeat("a", 9000)}, 401, "invalid_token", ""},
		{"logout with body", "POST", "/v1/logout", `{"scope":"all"}`, []string{bearer(at)}, 400, "invalid_request", ""},
		{"logout with two scopes", "POST", "/v1/logout?scope=current&scope=all", "", []string{bearer(at)}, 400, "invalid_request", "scope"},
		{"logout with chunked body", "POST", "/v1/logout", "chunked:{\"scope\":\"all\"}", []string{bearer(at)}, 400, "invalid_request", ""},
		{"unknown path", "GET", "/v1/nope", "", nil, 404, "not_found", ""},
		{"unclean path", "GET", "//v1/me", "", []string{bearer(at)}, 404, "not_found", ""},
		{"dot segment", "GET", "/v1/./me", "", []string{bearer(at)}, 404, "not_found", ""},
		{"wrong method", "GET", "/v1/signup", "", nil, 405, "method_not_allowed", ""},
		{"wrong method on me", "DELETE", "/v1/me", "", nil, 405, "method_not_allowed", ""},
	}
	before := h.rowCounts()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := *h
			sub.t = t
			r := sub.do(tt.method, tt.path, tt.body, tt.headers...)
			wantProblem(t, r, tt.status, tt.code)
			if tt.field != "" {
				if got, _ := r.json(t)["field"].(string); got != tt.field {
					t.Errorf("field = %q, want %q", got, tt.field)
				}
			}
			if tt.status == 401 {
				if r.header.Get("WWW-Authenticate") == "" && tt.code != "invalid_credentials" {
					t.Error("401 without WWW-Authenticate")
				}
				if tt.code == "missing_token" && strings.Contains(r.header.Get("WWW-Authenticate"), "error=") {
					t.Errorf("no-credentials challenge must be bare: %q", r.header.Get("WWW-Authenticate"))
				}
			}
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	after := h.rowCounts()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("bad input changed %s: %d -> %d", k, v, after[k])
		}
	}
	// The session is intact.
	if r := h.do("GET", "/v1/me", "", bearer(at)); r.status != 200 {
		t.Fatalf("session damaged by bad input: %d", r.status)
	}
}

func TestPublicEndpoints(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	r := h.do("GET", "/.well-known/jwks.json", "")
	if r.status != 200 {
		t.Fatal(r.status)
	}
	keys := r.json(t)["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks has %d keys", len(keys))
	}
	k := keys[0].(map[string]any)
	for key, want := range map[string]string{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"} {
		if k[key] != want {
			t.Errorf("jwk %s = %v, want %s", key, k[key], want)
		}
	}
	if k["kid"] == "" || k["d"] != nil {
		t.Errorf("jwk kid/d = %v/%v", k["kid"], k["d"])
	}
	if r := h.do("GET", "/healthz", ""); r.status != 200 {
		t.Errorf("healthz = %d", r.status)
	}
	if r := h.do("GET", "/readyz", ""); r.status != 200 {
		t.Errorf("readyz = %d %s", r.status, r.body)
	}
	h.env.Store.Close()
	wantProblem(t, h.do("GET", "/readyz", ""), http.StatusServiceUnavailable, "unavailable")
	if r := h.do("GET", "/healthz", ""); r.status != 200 {
		t.Errorf("healthz with db down = %d, want 200 (process alive)", r.status)
	}
}

// With the store down, a valid token gets 503, never 200.
func TestStoreDownFailsClosed(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	at := h.signup("down@example.com").str(t, "access_token")
	h.env.Store.Close()
	r := h.do("GET", "/v1/me", "", bearer(at))
	wantProblem(t, r, 503, "unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	wantProblem(t, h.do("POST", "/v1/login", `{"email":"down@example.com","password":"`+testPassword+`"}`), 503, "unavailable")
}
