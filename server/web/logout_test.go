package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch"
)

// TestSignOutExpiresCookies is case C14: sign in recording every Set-Cookie,
// sign out, and check that every auth cookie was expired with the name,
// Path, Domain, Secure, HttpOnly and SameSite it was set with; then replay
// every recorded cookie value: none gives access, by page or by API.
func TestSignOutExpiresCookies(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			e := newEnv(t, tls)
			b := e.browser(uaFirefox)
			wantRedirect(t, "POST /signup", b.signup("ann@example.com"), "/account")
			e.clock.Advance(accessTTL)
			if p := b.get("/account"); p.status != http.StatusOK { // a refresh: a second pair of values
				t.Fatalf("GET /account = %d", p.status)
			}
			sid := sessionOf(t, b.access())
			set := append([]*http.Cookie(nil), b.received...)

			p := b.post("/logout", nil)
			wantRedirect(t, "POST /logout", p, "/login?notice=signed-out")
			if s := e.session(sid); s.RevokeReason != latch.ReasonLogout {
				t.Fatalf("session after sign-out: reason %q, want %q", s.RevokeReason, latch.ReasonLogout)
			}

			expired := map[string]*http.Cookie{}
			for _, c := range p.cookies {
				if c.MaxAge >= 0 || c.Value != "" || !strings.Contains(c.Raw, "Max-Age=0") {
					t.Errorf("sign-out Set-Cookie %s: Max-Age %d, want an expiring cookie", c.Name, c.MaxAge)
				}
				expired[c.Name] = c
			}
			if len(set) < 4 {
				t.Fatalf("recorded %d Set-Cookie lines before sign-out, want at least 4", len(set))
			}
			for _, c := range set {
				x := expired[c.Name]
				if x == nil {
					t.Errorf("cookie %s was set but sign-out did not expire it", c.Name)
					continue
				}
				if x.Path != c.Path || x.Domain != c.Domain || x.Secure != c.Secure || x.HttpOnly != c.HttpOnly || x.SameSite != c.SameSite {
					t.Errorf("cookie %s set with Path=%q Domain=%q Secure=%v HttpOnly=%v SameSite=%v, expired with Path=%q Domain=%q Secure=%v HttpOnly=%v SameSite=%v",
						c.Name, c.Path, c.Domain, c.Secure, c.HttpOnly, c.SameSite, x.Path, x.Domain, x.Secure, x.HttpOnly, x.SameSite)
				}
				wantAttrs(t, e, c, tls)
			}

			// Replay every recorded value, each access with each refresh.
			for _, ac := range set {
				if ac.Name != e.accessName() {
					continue
				}
				for _, rc := range set {
					if rc.Name != e.refreshName() {
						continue
					}
					thief := e.browser(uaSafari)
					thief.jar[ac.Name], thief.jar[rc.Name] = ac.Value, rc.Value
					wantRedirect(t, "replayed GET /account", thief.get("/account"), "/login")
				}
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url+"/v1/me", nil)
				req.Header.Set("Authorization", "Bearer "+ac.Value)
				if p := e.browser(uaSafari).send(req); p.status != http.StatusUnauthorized {
					t.Errorf("GET /v1/me with a signed-out access token = %d, want 401", p.status)
				}
			}
		})
	}
}

// wantAttrs checks the fixed attributes of every auth cookie.
func wantAttrs(t *testing.T, e *env, c *http.Cookie, tls bool) {
	t.Helper()
	if c.Path != "/" || c.Domain != "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tls {
		t.Errorf("cookie %s: Path=%q Domain=%q HttpOnly=%v SameSite=%v Secure=%v, want Path=/ no Domain HttpOnly Lax Secure=%v",
			c.Name, c.Path, c.Domain, c.HttpOnly, c.SameSite, c.Secure, tls)
	}
	if tls != strings.HasPrefix(c.Name, "__Host-") {
		t.Errorf("cookie %s over tls=%v: __Host- prefix must be used exactly with https", c.Name, tls)
	}
}

func TestSignOutWithDeadSession(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	b := e.browser(uaFirefox)
	b.mustLogin("ann@example.com")
	if _, err := e.svc.AdminRevokeUserSessions(t.Context(), "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	// The session is gone already: sign-out still expires the cookies.
	p := b.post("/logout", nil)
	wantRedirect(t, "POST /logout", p, "/login")
	wantCleared(t, e, "POST /logout", p)
}
