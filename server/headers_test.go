package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/server"
)

// CORS is off unless origins are listed: no Access-Control header on any
// response, and a preflight finds no OPTIONS route.
func TestCORSOffByDefault(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	at := h.signup("cors@example.com").str(t, "access_token")
	r := h.do("GET", "/v1/me", "", bearer(at), "Origin: https://evil.example")
	if r.status != 200 {
		t.Fatal(r.status)
	}
	pre := h.do("OPTIONS", "/v1/me", "", "Origin: https://evil.example", "Access-Control-Request-Method: GET")
	for _, resp := range []*response{r, pre} {
		for name := range resp.header {
			if strings.HasPrefix(name, "Access-Control-") {
				t.Errorf("CORS header %s sent with CORS off", name)
			}
		}
	}
	if pre.status == 204 || pre.status == 200 {
		t.Errorf("preflight with CORS off = %d", pre.status)
	}
}

func TestCORSAllowlist(t *testing.T) {
	h := newHarnessWith(t, latchtest.Options{}, server.Options{CORSOrigins: []string{"https://app.example"}, PublicURL: ""})
	at := h.signup("cors@example.com").str(t, "access_token")
	tests := []struct {
		name            string
		method, path    string
		headers         []string
		status          int
		allowOrigin     string
		wantAllowHeader bool
	}{
		{"preflight allowed", "OPTIONS", "/v1/me", []string{"Origin: https://app.example", "Access-Control-Request-Method: GET", "Access-Control-Request-Headers: authorization"}, 204, "https://app.example", true},
		{"preflight allowed, POST with JSON", "OPTIONS", "/v1/login", []string{"Origin: https://app.example", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type"}, 204, "https://app.example", true},
		{"preflight other origin", "OPTIONS", "/v1/me", []string{"Origin: https://evil.example", "Access-Control-Request-Method: GET"}, 403, "", false},
		{"preflight lookalike origin", "OPTIONS", "/v1/me", []string{"Origin: https://app.example.evil.example", "Access-Control-Request-Method: GET"}, 403, "", false},
		{"preflight null origin", "OPTIONS", "/v1/me", []string{"Origin: null", "Access-Control-Request-Method: GET"}, 403, "", false},
		{"preflight method not allowed", "OPTIONS", "/v1/me", []string{"Origin: https://app.example", "Access-Control-Request-Method: PUT"}, 403, "", false},
		{"preflight header not allowed", "OPTIONS", "/v1/me", []string{"Origin: https://app.example", "Access-Control-Request-Method: GET", "Access-Control-Request-Headers: x-admin"}, 403, "", false},
		{"request from allowed origin", "GET", "/v1/me", []string{"Origin: https://app.example", bearer(at)}, 200, "https://app.example", false},
		{"request from other origin", "GET", "/v1/me", []string{"Origin: https://evil.example", bearer(at)}, 200, "", false},
		{"jwks from allowed origin", "GET", "/.well-known/jwks.json", []string{"Origin: https://app.example"}, 200, "https://app.example", false},
		{"health is not shared", "GET", "/healthz", []string{"Origin: https://app.example"}, 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := *h
			sub.t = t
			r := sub.do(tt.method, tt.path, "", tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (%s)", r.status, tt.status, r.body)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.allowOrigin)
			}
			if got := r.header.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials = %q: the API never shares credentials", got)
			}
			if (r.header.Get("Access-Control-Allow-Methods") != "") != tt.wantAllowHeader {
				t.Errorf("Access-Control-Allow-Methods = %q", r.header.Get("Access-Control-Allow-Methods"))
			}
			if tt.path != "/healthz" && !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin (responses differ by origin)", r.header.Values("Vary"))
			}
		})
	}
}

// Every response that carries a token is marked no-store: signup, login,
// refresh; and no API response may be cached by a shared cache at all.
func TestTokenResponsesNotCached(t *testing.T) {
	h := newHarness(t, latchtest.Options{})
	s := h.signup("nostore@example.com")
	l := h.login("nostore@example.com")
	rt := l.str(t, "refresh_token")
	ref := h.do("POST", "/v1/refresh", `{"refresh_token":"`+rt+`"}`)
	at := ref.str(t, "access_token")
	for name, r := range map[string]*response{
		"signup": s, "login": l, "refresh": ref,
		"me":       h.do("GET", "/v1/me", "", bearer(at)),
		"sessions": h.do("GET", "/v1/sessions", "", bearer(at)),
		"error":    h.do("GET", "/v1/me", "", bearer("x.y.z")),
	} {
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", name, cc)
		}
	}
	for name, r := range map[string]*response{"signup": s, "login": l, "refresh": ref} {
		if r.header.Get("Pragma") != "no-cache" {
			t.Errorf("%s: Pragma = %q, want no-cache (RFC 6749 §5.1)", name, r.header.Get("Pragma"))
		}
	}
}

// The pages that set session cookies are no-store too.
func TestCookieResponsesNotCached(t *testing.T) {
	env := latchtest.New(t, latchtest.Options{})
	srv := newPagesServer(t, env)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/signup", strings.NewReader("email=page%40example.com&password=a+long+enough+passphrase"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Header.Values("Set-Cookie")) == 0 {
		t.Fatalf("signup page set no cookie: %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control = %q on a response that sets session cookies", cc)
	}
}
