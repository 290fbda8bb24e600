package server_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/jwtattack"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
	"github.com/latchauth/latch/token"
)

// TestAttacksOverHTTP sends every JWT attack as a bearer token to a
// protected endpoint of the real server. Each gets 401 with an RFC 6750
// invalid_token challenge and problem JSON; none gets 200 or a 5xx. Tokens
// that HTTP itself cannot carry in a header (line breaks, NUL, non-ASCII)
// go over a raw connection, where the HTTP parser refuses them with 400.
func TestAttacksOverHTTP(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	s := h.signup("victim@example.com")
	at := s.str(t, "access_token")
	p, err := h.env.Service.Authenticate(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	gen := &jwtattack.Gen{Key: h.env.Service.KeySet().Signer(), Claims: p.Claims}
	if r := h.do("GET", "/v1/me", "", bearer(gen.Valid())); r.status != 200 {
		t.Fatalf("control token = %d %s", r.status, r.body)
	}
	before := h.rowCounts()
	for _, tc := range gen.Cases(at) {
		t.Run(tc.Name, func(t *testing.T) {
			if strings.TrimSpace(tc.Token) == gen.Valid() {
				// HTTP strips whitespace around a header value (RFC 9110
				// §5.5) and RFC 6750 allows several spaces after "Bearer",
				// so this reaches latch as the genuine token. The verifier
				// tests cover the padded form.
				return
			}
			if !headerSafe(tc.Token) {
				if st := rawStatus(t, h.srv.Listener.Addr().String(), tc.Token); st != 400 && st != 401 {
					t.Fatalf("raw request status %d, want 400 or 401", st)
				}
				return
			}
			sub := *h
			sub.t = t
			for _, path := range []string{"/v1/me", "/v1/sessions"} {
				r := sub.do("GET", path, "", "Authorization: Bearer "+tc.Token)
				if r.status != http.StatusUnauthorized {
					t.Fatalf("GET %s = %d %s, want 401", path, r.status, r.body)
				}
				code := r.json(t)["code"]
				if code != "invalid_token" && code != "token_expired" {
					t.Fatalf("code = %v", code)
				}
				ch := r.header.Get("WWW-Authenticate")
				if !strings.HasPrefix(ch, `Bearer realm="latch"`) || !strings.Contains(ch, `error="invalid_token"`) {
					t.Fatalf("WWW-Authenticate = %q", ch)
				}
				if r.header.Get("Content-Type") != "application/problem+json" || r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("headers = %v", r.header)
				}
			}
		})
	}
	after := h.rowCounts()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("attacks changed %s: %d -> %d", k, v, after[k])
		}
	}
	if r := h.do("GET", "/v1/me", "", bearer(at)); r.status != 200 {
		t.Fatalf("victim's real session damaged: %d", r.status)
	}
}

// A sample of the attacks as the browser pages' access cookie: the pages
// never authenticate them, never answer 5xx, and send the browser to sign in.
func TestAttacksAsCookies(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	srv := newPagesServer(t, env)
	g, err := env.Service.Signup(t.Context(), "cookie@example.com", testPassword, deviceFor())
	if err != nil {
		t.Fatal(err)
	}
	gen := &jwtattack.Gen{Key: env.Service.KeySet().Signer(), Claims: *mustClaims(t, env, g.AccessToken)}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	n := 0
	for _, tc := range gen.Cases(g.AccessToken) {
		if !headerSafe(tc.Token) || strings.ContainsAny(tc.Token, ";, \"\\") {
			continue
		}
		n++
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/account", nil)
		req.Header.Set("Cookie", "latch_at="+tc.Token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("%s: GET /account = %d (Location %q), want 303 to /login", tc.Name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if n < 200 {
		t.Fatalf("only %d attacks could be sent as cookies", n)
	}
}

// headerSafe reports whether net/http will send s in a header value.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return strings.TrimSpace(s) == s
}

// rawStatus sends a GET /v1/me with the token written verbatim and returns
// the status code.
func rawStatus(t *testing.T, addr, tok string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// newPagesServer serves env with the browser pages on (a loopback public
// URL, so plain-http cookies named latch_at and latch_rt).
func newPagesServer(t *testing.T, env *latchtest.Env) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = server.New(env.Service, env.Store, server.Options{PublicURL: "http://" + srv.Listener.Addr().String()})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func deviceFor() latch.Device { return latch.Device{IP: "192.0.2.1", UserAgent: "test"} }

func mustClaims(t *testing.T, env *latchtest.Env, at string) *token.Claims {
	t.Helper()
	p, err := env.Service.Authenticate(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	return &p.Claims
}
