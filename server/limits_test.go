package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

// Guessing a password over the API ends in 429 rate_limited with a
// Retry-After, the same for a known and an unknown email.
func TestLoginBruteForceOverHTTP(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	h.signup("brute@example.com")
	for _, email := range []string{"brute@example.com", "ghost@example.com"} {
		var last *response
		for range 6 {
			last = h.do("POST", "/v1/login", h.signupBody(email, "not the password"))
		}
		wantProblem(t, last, http.StatusTooManyRequests, "rate_limited")
		ra, err := strconv.Atoi(last.header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Retry-After = %q", last.header.Get("Retry-After"))
		}
		if strings.Contains(string(last.body), email) {
			t.Error("the 429 echoes the email")
		}
	}
}

// Behind a trusted proxy each client has its own counters; without one, a
// forged X-Forwarded-For changes nothing.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	guess := func(h *harness, xff string) int {
		return h.do("POST", "/v1/login", h.signupBody("xff@example.com", "wrong password"), "X-Forwarded-For: "+xff).status
	}
	t.Run("trusted", func(t *testing.T) {
		h := newHarnessWith(t, latchtest.Options{}, server.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}})
		h.signup("xff@example.com")
		for range 5 {
			guess(h, "198.51.100.1")
		}
		if st := guess(h, "198.51.100.1"); st != 429 {
			t.Fatalf("sixth guess from one client = %d", st)
		}
		if st := guess(h, "198.51.100.2"); st != 401 {
			t.Fatalf("another client behind the proxy = %d, want its own counter", st)
		}
		if st := guess(h, "198.51.100.2, 198.51.100.1"); st != 429 {
			t.Fatalf("spoofed left-most entry = %d, want the right-most untrusted (limited) client", st)
		}
		// The session records the client, not the proxy.
		r := h.do("POST", "/v1/login", h.signupBody("xff@example.com", testPassword), "X-Forwarded-For: 203.0.113.77")
		at := r.str(t, "access_token")
		for _, s := range h.do("GET", "/v1/sessions", "", bearer(at)).json(t)["sessions"].([]any) {
			if s := s.(map[string]any); s["current"] == true && s["ip"] != "203.0.113.77" {
				t.Fatalf("session ip = %v, want the client's", s["ip"])
			}
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		h := newHarness(t, latchtest.Options{})
		h.signup("xff@example.com")
		for i := range 5 {
			guess(h, fmt.Sprintf("198.51.100.%d", i))
		}
		if st := guess(h, "198.51.100.99"); st != 429 {
			t.Fatalf("a fresh X-Forwarded-For from an untrusted peer = %d, want 429 (header ignored)", st)
		}
	})
}

// The sign-in page says so too: 429, Retry-After, the form back with a
// message that does not depend on whether the account exists.
func TestLoginPageRateLimited(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	srv := newPagesServer(t, env)
	if _, err := env.Service.Signup(t.Context(), "page@example.com", testPassword, deviceFor()); err != nil {
		t.Fatal(err)
	}
	post := func(email string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/login", strings.NewReader(url.Values{"email": {email}, "password": {"wrong password"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var bodies []string
	for _, email := range []string{"page@example.com", "nobody@example.com"} {
		var resp *http.Response
		for range 6 {
			resp = post(email)
			resp.Body.Close()
		}
		resp = post(email)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: status %d, Retry-After %q", email, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if !strings.Contains(string(body), "Too many attempts") {
			t.Fatalf("page lacks the message:\n%s", body)
		}
		bodies = append(bodies, strings.ReplaceAll(string(body), email, "EMAIL"))
	}
	if bodies[0] != bodies[1] {
		t.Error("the rate-limited page differs between a known and an unknown email")
	}
}
