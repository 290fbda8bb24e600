package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
)

// form posts a form body with the given content type.
func (h *harness) form(path, contentType, body string, headers ...string) *response {
	h.t.Helper()
	hs := []string{"Content-Type: "} // drop the JSON default
	if contentType != "" {
		hs = append(hs, "Content-Type: "+contentType)
	}
	return h.do("POST", path, body, append(hs, headers...)...)
}

const formType = "application/x-www-form-urlencoded"

func wantOAuthError(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (RFC 6749 §5.2)", ct)
	}
	if got := r.json(t)["error"]; got != code {
		t.Errorf("error = %v, want %s", got, code)
	}
	if status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="latch", charset="UTF-8"` {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
}

func TestIntrospectionEndpoint(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	secret := h.addClient("notes")
	auth := basic("notes", secret)
	g := h.signup("intro@example.com")
	at, rt := g.str(t, "access_token"), g.str(t, "refresh_token")

	r := h.form("/v1/introspect", formType, "token="+url.QueryEscape(at), auth)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspect = %d %s", r.status, r.body)
	}
	m := r.json(t)
	want := map[string]any{"active": true, "token_type": "access_token", "iss": "http://latch.test", "aud": "http://latch.test",
		"sub": g.json(t)["user"].(map[string]any)["id"], "sid": g.str(t, "session_id"), "gen": 0.0, "client_id": "notes"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("introspection[%q] = %v, want %v", k, m[k], v)
		}
	}
	for _, k := range []string{"exp", "iat", "jti"} {
		if _, ok := m[k]; !ok {
			t.Errorf("introspection lacks %q", k)
		}
	}
	r = h.form("/v1/introspect", formType+"; charset=utf-8", "token="+url.QueryEscape(rt)+"&token_type_hint=refresh_token", auth)
	if m := r.json(t); m["active"] != true || m["token_type"] != "refresh_token" {
		t.Fatalf("introspect refresh = %s", r.body)
	}
	// A hint that is wrong or unknown changes nothing.
	if m := h.form("/v1/introspect", formType, "token="+at+"&token_type_hint=refresh_token", auth).json(t); m["active"] != true {
		t.Error("a wrong hint made a live token inactive")
	}

	h.do("POST", "/v1/logout", "", bearer(at))
	for _, tok := range []string{at, rt, "garbage", "latch_rt_x"} {
		r := h.form("/v1/introspect", formType, "token="+url.QueryEscape(tok), auth)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"active":false}` {
			t.Errorf("introspect(inactive) = %d %s, want exactly {\"active\":false}", r.status, r.body)
		}
	}
	live := h.login("intro@example.com").str(t, "access_token")
	h.env.Clock.Advance(16 * time.Minute)
	if r := h.form("/v1/introspect", formType, "token="+live, auth); strings.TrimSpace(string(r.body)) != `{"active":false}` {
		t.Errorf("introspect(expired) = %s", r.body)
	}
}

func TestOAuthEndpointErrors(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	secret := h.addClient("notes")
	auth := basic("notes", secret)
	for _, path := range []string{"/v1/introspect", "/v1/revoke"} {
		tests := []struct {
			name, ctype, body string
			headers           []string
			status            int
			code              string
		}{
			{"no credentials", formType, "token=x", nil, 401, "invalid_client"},
			{"wrong secret", formType, "token=x", []string{basic("notes", "latch_cs_nope")}, 401, "invalid_client"},
			{"unknown client", formType, "token=x", []string{basic("ghost", secret)}, 401, "invalid_client"},
			{"not base64", formType, "token=x", []string{"Authorization: Basic !!!"}, 401, "invalid_client"},
			{"two Authorization headers", formType, "token=x", []string{auth, auth}, 401, "invalid_client"},
			{"JSON body", "application/json", `{"token":"x"}`, []string{auth}, 400, "invalid_request"},
			{"no content type", "", "token=x", []string{auth}, 400, "invalid_request"},
			{"missing token", formType, "token_type_hint=access_token", []string{auth}, 400, "invalid_request"},
			{"empty token", formType, "token=", []string{auth}, 400, "invalid_request"},
			{"repeated token", formType, "token=a&token=b", []string{auth}, 400, "invalid_request"},
			{"secret in body", formType, "token=a&client_id=notes&client_secret=" + secret, []string{auth}, 400, "invalid_request"},
			{"bad escape", formType, "token=%zz", []string{auth}, 400, "invalid_request"},
			{"compressed body", formType, "token=x", []string{auth, "Content-Encoding: gzip"}, 400, "invalid_request"},
			{"body over 64 KiB", formType, "token=" + strings.Repeat("a", 70<<10), []string{auth}, 400, "invalid_request"},
		}
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				wantOAuthError(t, h.form(path, tt.ctype, tt.body, tt.headers...), tt.status, tt.code)
			})
		}
	}
	// The client secret never comes back in any answer.
	r := h.form("/v1/introspect", formType, "token=a&client_secret="+secret, auth)
	if strings.Contains(string(r.body), secret) {
		t.Error("the secret was echoed")
	}
}

func TestRevocationEndpoint(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	auth := basic("notes", h.addClient("notes"))
	h.signup("revoke@example.com")
	a, b := h.login("revoke@example.com"), h.login("revoke@example.com")

	for _, body := range []string{"token=unknown", "token=unknown&token_type_hint=access_token", "token=x&token_type_hint=made_up"} {
		if r := h.form("/v1/revoke", formType, body, auth); r.status != 200 || len(r.body) != 0 {
			t.Errorf("revoke(%s) = %d %q, want 200 and no body", body, r.status, r.body)
		}
	}
	if r := h.form("/v1/revoke", formType, "token="+a.str(t, "access_token")+"&token_type_hint=access_token", auth); r.status != 200 {
		t.Fatal(r.status)
	}
	wantProblem(t, h.do("GET", "/v1/me", "", bearer(a.str(t, "access_token"))), 401, "session_revoked")
	if r := h.form("/v1/revoke", formType, "token="+url.QueryEscape(b.str(t, "refresh_token")), auth); r.status != 200 {
		t.Fatal(r.status)
	}
	wantProblem(t, h.do("GET", "/v1/me", "", bearer(b.str(t, "access_token"))), 401, "session_revoked")
	list := h.login("revoke@example.com").str(t, "access_token")
	body := h.do("GET", "/v1/sessions", "", bearer(list)).body
	if strings.Count(string(body), `"token_revocation"`) != 2 {
		t.Errorf("sessions do not show two token revocations: %s", body)
	}
}

func TestMetadata(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	r := h.do("GET", "/.well-known/oauth-authorization-server", "")
	if r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	var md map[string]any
	json.Unmarshal(r.body, &md)
	want := map[string]any{
		"issuer":                 "http://latch.test",
		"jwks_uri":               "http://latch.test/.well-known/jwks.json",
		"introspection_endpoint": "http://latch.test/v1/introspect",
		"revocation_endpoint":    "http://latch.test/v1/revoke",
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("metadata[%q] = %v, want %v", k, md[k], v)
		}
	}
	for _, k := range []string{"introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		if v, _ := md[k].([]any); len(v) != 1 || v[0] != "client_secret_basic" {
			t.Errorf("metadata[%q] = %v", k, md[k])
		}
	}
	if v, _ := md["access_token_signing_alg_values_supported"].([]any); len(v) != 1 || v[0] != "EdDSA" {
		t.Errorf("signing algs = %v", md["access_token_signing_alg_values_supported"])
	}
}
