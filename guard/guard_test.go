package guard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/guard"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

const testPassword = "correct horse battery staple"

// rig is a real latch on loopback, a registered client, and a service
// behind a guard that shares latch's test clock.
type rig struct {
	t      testing.TB
	env    *latchtest.Env
	latch  *server.Server
	srv    *httptest.Server
	guard  *guard.Guard
	api    *httptest.Server
	secret string
}

func newRig(t testing.TB, cfg guard.Config, start bool) *rig {
	t.Helper()
	env := latchtest.New(t, latchtest.Options{})
	h := server.New(env.Service, env.Store, server.Options{})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.EndStreams)
	_, secret, err := env.Service.AddClient(t.Context(), "notes")
	if err != nil {
		t.Fatal(err)
	}
	cfg.URL, cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.Now = srv.URL, "http://latch.test", "notes", secret, env.Clock.Now
	g, err := guard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := guard.ClaimsFrom(r.Context())
		if !ok {
			t.Error("no claims in the context")
		}
		io.WriteString(w, c.SessionID)
	})))
	t.Cleanup(api.Close)
	r := &rig{t: t, env: env, latch: h, srv: srv, guard: g, api: api, secret: secret}
	if start {
		r.run()
	}
	return r
}

// run starts guard.Run and waits until it has caught up.
func (r *rig) run() {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.guard.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-done })
	waitFor(r.t, "guard catches up", func() bool { return r.guard.Status().Current })
}

// waitFor polls cond for at most 5 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *rig) login(email string) *latch.Grant {
	r.t.Helper()
	g, err := r.env.Service.Login(r.t.Context(), email, testPassword, latch.Device{})
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

func (r *rig) signup(email string) *latch.Grant {
	r.t.Helper()
	g, err := r.env.Service.Signup(r.t.Context(), email, testPassword, latch.Device{})
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

func (r *rig) logout(g *latch.Grant) {
	r.t.Helper()
	p, err := r.env.Service.Authenticate(r.t.Context(), g.AccessToken)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.env.Service.Logout(r.t.Context(), p, latch.ScopeCurrent, latch.Device{}); err != nil {
		r.t.Fatal(err)
	}
}

type reply struct {
	status int
	header http.Header
	code   string
	body   string
}

// call sends GET / to the service with the given Authorization value.
func (r *rig) call(authorization string) reply {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.api.URL, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p struct{ Code string }
	json.Unmarshal(b, &p)
	return reply{resp.StatusCode, resp.Header, p.Code, string(b)}
}

func TestGuardRefusesRevokedSession(t *testing.T) {
	r := newRig(t, guard.Config{}, true)
	g := r.signup("alice@example.com")
	if got := r.call("Bearer " + g.AccessToken); got.status != 200 || got.body != string(g.Session.ID) {
		t.Fatalf("live token = %+v", got)
	}
	r.logout(g)
	waitFor(t, "the revoked token is refused", func() bool { return r.call("Bearer "+g.AccessToken).status == 401 })
	got := r.call("Bearer " + g.AccessToken)
	if got.code != "session_revoked" || got.header.Get("Content-Type") != "application/problem+json" ||
		got.header.Get("WWW-Authenticate") != `Bearer realm="latch", error="invalid_token", error_description="session_revoked"` {
		t.Fatalf("refusal = %+v %v", got, got.header)
	}
	if other := r.login("alice@example.com"); r.call("Bearer "+other.AccessToken).status != 200 {
		t.Error("another session of the user was refused")
	}
}

// A session revoked before guard started is refused once guard has caught
// up, and before that guard vouches for nothing.
func TestGuardCatchesUp(t *testing.T) {
	r := newRig(t, guard.Config{}, false)
	g := r.signup("early@example.com")
	live := r.login("early@example.com")
	r.logout(g)
	if got := r.call("Bearer " + live.AccessToken); got.status != 503 || got.code != "unavailable" || got.header.Get("Retry-After") == "" {
		t.Fatalf("before catching up = %+v, want 503 unavailable", got)
	}
	r.run()
	if got := r.call("Bearer " + g.AccessToken); got.status != 401 || got.code != "session_revoked" {
		t.Fatalf("token revoked before start = %+v", got)
	}
	if got := r.call("Bearer " + live.AccessToken); got.status != 200 {
		t.Fatalf("live token = %+v", got)
	}
}

func TestGuardRefusals(t *testing.T) {
	r := newRig(t, guard.Config{}, true)
	g := r.signup("bob@example.com")
	other := latchtest.New(t, latchtest.Options{Secret: mustSecret(t)})
	foreign, err := other.Service.Signup(t.Context(), "bob@example.com", testPassword, latch.Device{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, auth string
		code       string
		challenge  string
	}{
		{"no token", "", "missing_token", `Bearer realm="latch"`},
		{"basic credentials", "Basic Ym9iOnNlY3JldA==", "missing_token", `Bearer realm="latch"`},
		{"malformed", "Bearer a b", "invalid_token", `Bearer realm="latch", error="invalid_token", error_description="invalid_token"`},
		{"garbage", "Bearer abc.def.ghi", "invalid_token", ""},
		{"tampered", "Bearer " + g.AccessToken[:len(g.AccessToken)-4] + "AAAA", "invalid_token", ""},
		{"another latch's token", "Bearer " + foreign.AccessToken, "invalid_token", ""},
		{"a refresh token", "Bearer " + g.RefreshToken, "invalid_token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.call(tt.auth)
			if got.status != 401 || got.code != tt.code {
				t.Fatalf("%s = %d %s, want 401 %s", tt.name, got.status, got.code, tt.code)
			}
			if tt.challenge != "" && got.header.Get("WWW-Authenticate") != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got.header.Get("WWW-Authenticate"), tt.challenge)
			}
		})
	}
	r.env.Clock.Advance(16 * time.Minute)
	if got := r.call("Bearer " + g.AccessToken); got.status != 401 || got.code != "token_expired" {
		t.Fatalf("expired = %+v", got)
	}
}

func mustSecret(t *testing.T) *latch.Secret {
	s, err := latch.ParseSecret([]byte(strings.Repeat("cd", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// After a key rotation guard fetches the new key, for tokens and events.
func TestGuardFollowsKeyRotation(t *testing.T) {
	r := newRig(t, guard.Config{}, true)
	r.signup("rot@example.com")
	if _, err := r.env.Service.RotateKey(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	g := r.login("rot@example.com")
	// JWKS refetches are rate-limited to one a second, and guard fetched
	// the keys moments ago: the new key is picked up within that second.
	waitFor(t, "a token signed by the new key is accepted", func() bool { return r.call("Bearer "+g.AccessToken).status == 200 })
	r.logout(g) // its SET is signed by the new key too
	waitFor(t, "the revocation arrives", func() bool { return r.call("Bearer "+g.AccessToken).status == 401 })
}
