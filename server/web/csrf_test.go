package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch"
)

// TestCrossSiteFormsRefused is case C15. The victim's access cookie has
// expired, so any request the server accepted would rotate the refresh
// token and set cookies. Every cross-site variant of every state-changing
// form is refused with 403, and afterwards nothing has changed: no cookie
// set or cleared, no rotation, no session ended, the password the same.
// Then a legitimate post from latch's own page works.
func TestCrossSiteFormsRefused(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	e.signupUser("mallory@example.com")
	victim := e.browser(uaFirefox)
	victim.mustLogin("ann@example.com")
	other := e.browser(uaSafari)
	other.mustLogin("ann@example.com")
	vid, oid := sessionOf(t, victim.access()), sessionOf(t, other.access())
	e.clock.Advance(accessTTL)

	endpoints := []struct {
		path string
		vals url.Values
	}{
		{"/logout", nil},
		{"/account/sign-out-others", nil},
		{"/account/sessions/" + string(oid) + "/sign-out", nil},
		{"/account/password", form("current_password", testPassword, "new_password", "attacker chosen")},
		{"/login", form("email", "mallory@example.com", "password", testPassword)},
		{"/signup", form("email", "planted@example.com", "password", testPassword)},
	}
	attacks := []struct {
		name string
		h    http.Header
	}{
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
		{"same-site sibling", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"http://evil.localhost"}}},
		{"foreign Origin only", http.Header{"Origin": {"https://evil.example"}}},
		{"Origin null only", http.Header{"Origin": {"null"}}},
		{"no Origin, no Sec-Fetch-Site", http.Header{}},
		{"cross-site with our Origin", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {e.url}}},
	}
	for _, ep := range endpoints {
		for _, a := range attacks {
			t.Run(strings.TrimPrefix(ep.path, "/")+"/"+a.name, func(t *testing.T) {
				before := victim.access() + victim.refresh()
				p := victim.postWith(ep.path, ep.vals, a.h)
				if p.status != http.StatusForbidden || !strings.Contains(p.body, "Nothing was changed.") {
					t.Fatalf("POST %s (%s) = %d, want 403; body:\n%.400s", ep.path, a.name, p.status, p.body)
				}
				if len(p.header.Values("Set-Cookie")) != 0 {
					t.Fatalf("refused POST %s set or cleared cookies %v", ep.path, describe(p.cookies))
				}
				if victim.access()+victim.refresh() != before {
					t.Fatalf("refused POST %s changed the browser's cookies", ep.path)
				}
				for _, id := range []latch.SessionID{vid, oid} {
					s := e.session(id)
					if s.Revoked() || s.Generation != 0 {
						t.Fatalf("after refused POST %s: session revoked=%v generation=%d, want live and unrotated", ep.path, s.Revoked(), s.Generation)
					}
				}
			})
		}
	}
	if users, err := e.svc.Users(t.Context()); err != nil || len(users) != 2 {
		t.Fatalf("Users() = %d users, %v; want 2 (no cross-site sign-up)", len(users), err)
	}
	e.browser(uaFirefox).mustLogin("ann@example.com") // password unchanged

	// A legitimate post right after: refreshes once, ends the other device.
	p := victim.post("/account/sign-out-others", nil)
	wantRedirect(t, "same-origin POST /account/sign-out-others", p, "/account?notice=others-signed-out")
	if len(p.cookies) != 2 {
		t.Fatalf("legitimate post set %v, want the refreshed pair", describe(p.cookies))
	}
	if s := e.session(vid); s.Revoked() || s.Generation != 1 {
		t.Fatalf("victim session: revoked=%v generation=%d, want live at 1", s.Revoked(), s.Generation)
	}
	if !e.session(oid).Revoked() {
		t.Fatalf("other session still live after sign-out-others")
	}
	// Browsers without Sec-Fetch-Site send Origin: a matching one is fine.
	p = victim.postWith("/logout", nil, http.Header{"Origin": {e.url}})
	wantRedirect(t, "POST /logout with our Origin only", p, "/login?notice=signed-out")
}
