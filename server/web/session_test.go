package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch"
)

func TestAccountNeedsSession(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	live := e.browser(uaFirefox)
	live.mustLogin("ann@example.com")

	tests := []struct {
		name   string
		cookie []string // raw Cookie header lines
	}{
		{"no cookies", nil},
		{"garbage access token", []string{"latch_at=not.a.jwt"}},
		{"access token in quotes", []string{`latch_at="` + live.access() + `"`}},
		{"forged refresh token only", []string{"latch_rt=latch_rt_AAAA"}},
		{"another app's cookie only", []string{"session=xyz"}},
		// A planted duplicate makes the credential ambiguous: refuse it.
		{"genuine cookies sent twice", []string{"latch_at=" + live.access() + "; latch_rt=" + live.refresh(), "latch_at=" + live.access()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url+"/account", nil)
			req.Header["Cookie"] = tt.cookie
			p := e.browser(uaFirefox).send(req)
			wantRedirect(t, "GET /account", p, "/login")
			wantCleared(t, e, "GET /account", p)
		})
	}
	// None of that disturbed the genuine session.
	if p := live.get("/account"); p.status != http.StatusOK {
		t.Fatalf("GET /account with genuine cookies = %d", p.status)
	}
}

// TestRefreshOnPageLoad: an expired access cookie is exchanged through the
// refresh cookie, once, and the page is served in the same response.
func TestRefreshOnPageLoad(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			e := newEnv(t, tls)
			e.signupUser("ann@example.com")
			b := e.browser(uaFirefox)
			b.mustLogin("ann@example.com")
			sid := sessionOf(t, b.access())
			a0, r0 := b.access(), b.refresh()

			// Fresh access token: no refresh, no cookie.
			if p := b.get("/account"); p.status != http.StatusOK || len(p.cookies) != 0 {
				t.Fatalf("GET /account = %d setting %v, want 200 and no cookie", p.status, describe(p.cookies))
			}
			e.clock.Advance(accessTTL)
			p := b.get("/account")
			if p.status != http.StatusOK {
				t.Fatalf("GET /account with an expired access cookie = %d, want 200; body:\n%.500s", p.status, p.body)
			}
			if len(p.cookies) != 2 || b.access() == a0 || b.refresh() == r0 {
				t.Fatalf("refresh set %v, want two new cookies", describe(p.cookies))
			}
			if g := e.session(sid).Generation; g != 1 {
				t.Fatalf("session generation after one page-load refresh = %d, want 1", g)
			}
			// The new pair works without another rotation.
			if p := b.get("/account"); p.status != http.StatusOK || len(p.cookies) != 0 {
				t.Fatalf("GET /account after refresh = %d setting %v", p.status, describe(p.cookies))
			}
			if g := e.session(sid).Generation; g != 1 {
				t.Fatalf("session generation = %d, want still 1", g)
			}
			// Without an access cookie at all, the refresh cookie alone signs in.
			delete(b.jar, e.accessName())
			if p := b.get("/account"); p.status != http.StatusOK || len(p.cookies) != 2 {
				t.Fatalf("GET /account with only a refresh cookie = %d setting %v", p.status, describe(p.cookies))
			}
		})
	}
}

// TestRefreshCookieTheft: a copy of the cookies replayed after the owner's
// browser rotated them is refresh-token reuse: the session is revoked with
// reason refresh_token_reuse, the thief and the owner both land on /login,
// and a fresh sign-in sees "suspected token theft".
func TestRefreshCookieTheft(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	owner := e.browser(uaFirefox)
	owner.mustLogin("ann@example.com")
	sid := sessionOf(t, owner.access())
	thief := owner.clone(uaSafari)

	e.clock.Advance(accessTTL)
	if p := owner.get("/account"); p.status != http.StatusOK || len(p.cookies) != 2 {
		t.Fatalf("owner's refreshing GET /account = %d setting %v", p.status, describe(p.cookies))
	}
	e.clock.Advance(11 * time.Second) // past the 10 s grace window

	p := thief.get("/account")
	wantRedirect(t, "thief's GET /account", p, "/login")
	wantCleared(t, e, "thief's GET /account", p)
	s := e.session(sid)
	if !s.Revoked() || s.RevokeReason != latch.ReasonRefreshReuse {
		t.Fatalf("session after replay: revoked=%v reason=%q, want revoked for %q", s.Revoked(), s.RevokeReason, latch.ReasonRefreshReuse)
	}
	wantRedirect(t, "owner's next GET /account", owner.get("/account"), "/login")

	fresh := e.browser(uaFirefox)
	fresh.mustLogin("ann@example.com")
	page := fresh.get("/account").body
	if !strings.Contains(page, "signed out: suspected token theft") {
		t.Fatalf("account page after theft lacks the reason:\n%s", page)
	}
}

// TestRefreshWithinGrace: two tabs that race the same refresh (the second
// still holding the old cookies) both get in, on one lineage.
func TestRefreshWithinGrace(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	tab1 := e.browser(uaFirefox)
	tab1.mustLogin("ann@example.com")
	tab2 := tab1.clone(uaFirefox)
	sid := sessionOf(t, tab1.access())
	e.clock.Advance(accessTTL)
	if p := tab1.get("/account"); p.status != http.StatusOK {
		t.Fatalf("tab 1 = %d", p.status)
	}
	e.clock.Advance(2 * time.Second)
	if p := tab2.get("/account"); p.status != http.StatusOK {
		t.Fatalf("tab 2 within the grace window = %d, want 200", p.status)
	}
	if tab1.refresh() != tab2.refresh() {
		t.Errorf("the two tabs hold different refresh tokens: the lineage forked")
	}
	if s := e.session(sid); s.Revoked() || s.Generation != 1 {
		t.Fatalf("session: revoked=%v generation=%d, want live at 1", s.Revoked(), s.Generation)
	}
}

// TestStoreDown: when the store cannot answer, the page fails closed with
// 503, and the cookies are kept: the session may be fine.
func TestStoreDown(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	b := e.browser(uaFirefox)
	b.mustLogin("ann@example.com")
	e.store.Close()
	for _, p := range []*page{b.get("/account"), b.post("/logout", nil)} {
		if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "Please try again shortly") {
			t.Fatalf("with the store closed: %d, want 503; body:\n%.500s", p.status, p.body)
		}
		if len(p.cookies) != 0 {
			t.Fatalf("with the store closed the response set %v, want no cookie change", describe(p.cookies))
		}
	}
}
