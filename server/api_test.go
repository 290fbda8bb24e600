package server_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

// The README's walkthrough, over real HTTP: a copied token dies at logout.
func TestStolenTokenDiesAtLogout(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	r := h.signup("alice@example.com")
	m := r.json(t)
	for _, k := range []string{"access_token", "refresh_token", "session_id", "token_type", "expires_in", "user"} {
		if _, ok := m[k]; !ok {
			t.Errorf("signup response lacks %q", k)
		}
	}
	if m["token_type"] != "Bearer" || m["expires_in"].(float64) != 900 {
		t.Errorf("token_type/expires_in = %v/%v", m["token_type"], m["expires_in"])
	}
	user := m["user"].(map[string]any)
	if user["email"] != "alice@example.com" || user["id"] == "" || user["created_at"] == "" {
		t.Errorf("user = %v", user)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("token response Cache-Control = %q", cc)
	}
	copied := r.str(t, "access_token")

	me := h.do("GET", "/v1/me", "", bearer(copied))
	if me.status != 200 || me.str(t, "email") != "alice@example.com" {
		t.Fatalf("/v1/me = %d %s", me.status, me.body)
	}
	if lo := h.do("POST", "/v1/logout", "", bearer(copied)); lo.status != http.StatusNoContent {
		t.Fatalf("logout = %d %s", lo.status, lo.body)
	}
	r = h.do("GET", "/v1/me", "", bearer(copied))
	wantProblem(t, r, 401, "session_revoked")
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") || !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

// Two devices: logging out one leaves the other working.
func TestTwoDevices(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	h.signup("two@example.com")
	a := h.login("two@example.com").str(t, "access_token")
	b := h.login("two@example.com").str(t, "access_token")
	if r := h.do("POST", "/v1/logout", "", bearer(a)); r.status != 204 {
		t.Fatal(r.status)
	}
	wantProblem(t, h.do("GET", "/v1/me", "", bearer(a)), 401, "session_revoked")
	if r := h.do("GET", "/v1/me", "", bearer(b)); r.status != 200 {
		t.Fatalf("device B = %d %s", r.status, r.body)
	}
}

func TestRefreshAndSessionsAPI(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	s := h.signup("api@example.com")
	rt := s.str(t, "refresh_token")
	r := h.do("POST", "/v1/refresh", `{"refresh_token":"`+rt+`"}`)
	if r.status != 200 || r.str(t, "refresh_token") == rt || r.str(t, "session_id") != s.str(t, "session_id") {
		t.Fatalf("refresh = %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Error("refresh response is cacheable")
	}
	at := r.str(t, "access_token")
	other := h.login("api@example.com")

	list := h.do("GET", "/v1/sessions", "", bearer(at))
	if list.status != 200 {
		t.Fatalf("sessions = %d %s", list.status, list.body)
	}
	sessions := list.json(t)["sessions"].([]any)
	if len(sessions) != 2 {
		t.Fatalf("listed %d sessions", len(sessions))
	}
	for _, raw := range sessions {
		sess := raw.(map[string]any)
		for _, k := range []string{"id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current", "revoked_at", "revoke_reason"} {
			if _, ok := sess[k]; !ok {
				t.Errorf("session lacks %q", k)
			}
		}
	}

	wantProblem(t, h.do("DELETE", "/v1/sessions/not-a-uuid", "", bearer(at)), 404, "not_found")
	wantProblem(t, h.do("DELETE", "/v1/sessions/00000000-0000-4000-8000-000000000000", "", bearer(at)), 404, "not_found")
	if r := h.do("DELETE", "/v1/sessions/"+other.str(t, "session_id"), "", bearer(at)); r.status != 204 {
		t.Fatalf("delete other session = %d %s", r.status, r.body)
	}
	wantProblem(t, h.do("GET", "/v1/me", "", bearer(other.str(t, "access_token"))), 401, "session_revoked")

	// Password change keeps the caller, ends the rest.
	third := h.login("api@example.com")
	wantProblem(t, h.do("POST", "/v1/password", `{"current_password":"nope nope","new_password":"brand new secret"}`, bearer(at)), 401, "invalid_credentials")
	wantProblem(t, h.do("POST", "/v1/password", `{"current_password":"`+testPassword+`","new_password":"short"}`, bearer(at)), 422, "validation_failed")
	if r := h.do("POST", "/v1/password", `{"current_password":"`+testPassword+`","new_password":"brand new secret"}`, bearer(at)); r.status != 204 {
		t.Fatalf("password = %d %s", r.status, r.body)
	}
	wantProblem(t, h.do("GET", "/v1/me", "", bearer(third.str(t, "access_token"))), 401, "session_revoked")
	if r := h.do("GET", "/v1/me", "", bearer(at)); r.status != 200 {
		t.Fatalf("caller after password change = %d", r.status)
	}

	// Logout scopes.
	wantProblem(t, h.do("POST", "/v1/logout?scope=bogus", "", bearer(at)), 422, "validation_failed")
	if r := h.do("POST", "/v1/logout?scope=all", "", bearer(at)); r.status != 204 {
		t.Fatal(r.status)
	}
	wantProblem(t, h.do("GET", "/v1/me", "", bearer(at)), 401, "session_revoked")
}

func TestRefreshReuseOverHTTP(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	r0 := h.signup("reuse@example.com").str(t, "refresh_token")
	r1 := h.do("POST", "/v1/refresh", `{"refresh_token":"`+r0+`"}`)
	h.env.Clock.Advance(11e9)
	wantProblem(t, h.do("POST", "/v1/refresh", `{"refresh_token":"`+r0+`"}`), 401, "refresh_token_reused")
	wantProblem(t, h.do("GET", "/v1/me", "", bearer(r1.str(t, "access_token"))), 401, "session_revoked")
	wantProblem(t, h.do("POST", "/v1/refresh", `{"refresh_token":"junk"}`), 401, "invalid_refresh_token")
	wantProblem(t, h.do("POST", "/v1/refresh", `{}`), 422, "validation_failed")
}

// With an https public URL every response tells browsers to stay on https.
func TestHSTS(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	for _, tc := range []struct {
		url  string
		want bool
	}{{"https://auth.example.com", true}, {"http://127.0.0.1:8080", false}, {"", false}} {
		srv := httptest.NewServer(server.New(env.Service, env.Store, server.Options{PublicURL: tc.url}))
		resp, err := srv.Client().Get(srv.URL + "/healthz")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tc.want {
			t.Errorf("public URL %q: HSTS present = %v, want %v", tc.url, got, tc.want)
		}
	}
}

// Every time in a response has one fixed form: UTC, three fraction digits,
// whole seconds and trailing zeros included.
func TestTimestampsFixedWidth(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	form := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	check := func(what string, v any) {
		t.Helper()
		if s, _ := v.(string); !form.MatchString(s) {
			t.Errorf("%s = %v, want the fixed form 2006-01-02T15:04:05.000Z", what, v)
		}
	}
	// The test clock starts on a whole second; then 280 ms past one.
	s := h.signup("times@example.com")
	check("created_at, whole second", s.json(t)["user"].(map[string]any)["created_at"])
	at := s.str(t, "access_token")
	h.env.Clock.Advance(1280 * time.Millisecond)
	sessions := h.do("GET", "/v1/sessions", "", bearer(at)).json(t)["sessions"].([]any)
	for _, k := range []string{"created_at", "last_seen_at", "expires_at"} {
		check(k, sessions[0].(map[string]any)[k])
	}
	h.do("POST", "/v1/logout", "", bearer(h.login("times@example.com").str(t, "access_token")))
	h.env.Clock.Advance(20 * time.Millisecond)
	other := h.login("times@example.com").str(t, "access_token")
	revoked := 0
	for _, s := range h.do("GET", "/v1/sessions", "", bearer(other)).json(t)["sessions"].([]any) {
		if r := s.(map[string]any)["revoked_at"]; r != nil {
			check("revoked_at", r)
			revoked++
		}
	}
	if revoked == 0 {
		t.Error("the ended session is not listed with revoked_at")
	}
}
