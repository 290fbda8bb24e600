package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchauth/latch"
)

func TestAccountPage(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	me := e.browser(uaFirefox)
	me.mustLogin("ann@example.com")
	phone := e.browser(uaSafari)
	phone.mustLogin("ann@example.com")
	e.clock.Advance(3 * time.Hour)

	p := me.get("/account")
	if p.status != http.StatusOK {
		t.Fatalf("GET /account = %d", p.status)
	}
	mine, theirs := sessionOf(t, me.access()), sessionOf(t, phone.access())
	for _, w := range []string{
		"<title>Your account · latch</title>",
		"Signed in as <strong>ann@example.com</strong>",
		`Firefox 128 on Windows <span class="badge">This device</span>`,
		"Safari 17 on iOS 17",
		"<dd>127.0.0.1</dd>",
		">3 hours ago</time>",
		`action="/account/sessions/` + string(theirs) + `/sign-out"`,
		`aria-label="Sign out Safari 17 on iOS 17, signed in 3 hours ago"`,
		"Sign out everywhere else",
		"No device was signed out in the last 30 days.",
		`<label for="password-current_password">Current password</label>`,
	} {
		if !strings.Contains(p.body, w) {
			t.Errorf("account page lacks %s", w)
		}
	}
	if strings.Contains(p.body, "/account/sessions/"+string(mine)+"/sign-out") {
		t.Errorf("account page offers to sign out this device by id; the header's Sign out does that")
	}
	if strings.Index(p.body, "This device") > strings.Index(p.body, "Safari 17") {
		t.Errorf("this device is not listed first")
	}
}

func TestSignOutDevice(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	e.signupUser("bob@example.com")
	me := e.browser(uaFirefox)
	me.mustLogin("ann@example.com")
	phone := e.browser(uaSafari)
	phone.mustLogin("ann@example.com")
	bob := e.browser(uaFirefox)
	bob.mustLogin("bob@example.com")
	mine, theirs, bobs := sessionOf(t, me.access()), sessionOf(t, phone.access()), sessionOf(t, bob.access())

	// Not ours, not a session, not an id: all the same 404, nothing revoked.
	for _, id := range []string{string(bobs), uuid.NewString(), "not-a-uuid", strings.ToUpper(string(theirs))} {
		p := me.post("/account/sessions/"+id+"/sign-out", nil)
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "That device is not one of yours") {
			t.Errorf("sign out %q = %d, want 404", id, p.status)
		}
	}
	if e.session(bobs).Revoked() || e.session(theirs).Revoked() {
		t.Fatalf("a refused sign-out revoked a session")
	}

	wantRedirect(t, "sign out the phone", me.post("/account/sessions/"+string(theirs)+"/sign-out", nil), "/account?notice=device-signed-out")
	if s := e.session(theirs); s.RevokeReason != latch.ReasonRevokedByUser {
		t.Fatalf("phone session reason %q, want %q", s.RevokeReason, latch.ReasonRevokedByUser)
	}
	p := phone.get("/account")
	wantRedirect(t, "phone's next GET /account", p, "/login")
	wantCleared(t, e, "phone's next GET /account", p)

	page := me.get("/account?notice=device-signed-out")
	if !strings.Contains(page.body, "That device was signed out.") || !strings.Contains(page.body, "signed out from another device") {
		t.Fatalf("account page after signing out the phone:\n%s", page.body)
	}
	// Signing out this device by its id is a sign-out.
	p = me.post("/account/sessions/"+string(mine)+"/sign-out", nil)
	wantRedirect(t, "sign out this device", p, "/login?notice=signed-out")
	wantCleared(t, e, "sign out this device", p)
}

func TestSignOutOthers(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	me := e.browser(uaFirefox)
	me.mustLogin("ann@example.com")
	others := []*browser{e.browser(uaSafari), e.browser(uaFirefox)}
	for _, o := range others {
		o.mustLogin("ann@example.com")
	}
	wantRedirect(t, "POST /account/sign-out-others", me.post("/account/sign-out-others", nil), "/account?notice=others-signed-out")
	for _, o := range others {
		wantRedirect(t, "other device's GET /account", o.get("/account"), "/login")
	}
	p := me.get("/account")
	if p.status != http.StatusOK || !strings.Contains(p.body, "No other device is signed in.") || strings.Contains(p.body, "Sign out everywhere else") {
		t.Fatalf("account page after sign-out-others = %d:\n%s", p.status, p.body)
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	me := e.browser(uaFirefox)
	me.mustLogin("ann@example.com")
	phone := e.browser(uaSafari)
	phone.mustLogin("ann@example.com")

	tests := []struct {
		name, current, next string
		want                string
	}{
		{"wrong current", "not my password", newPassword, `id="password-current_password-error">The current password is incorrect.</p>`},
		{"empty current", "", newPassword, `id="password-current_password-error">Enter your current password.</p>`},
		{"short new", testPassword, "short", `id="password-new_password-error">New password must be at least 8 characters, not counting spaces.</p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := me.post("/account/password", form("current_password", tt.current, "new_password", tt.next))
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, tt.want) {
				t.Fatalf("POST /account/password = %d, want 422 with %s; body:\n%s", p.status, tt.want, p.body)
			}
			if !strings.Contains(p.body, "Your devices") {
				t.Errorf("the account page around the form is missing")
			}
			if tt.current != "" && strings.Contains(p.body, tt.current) || strings.Contains(p.body, tt.next) {
				t.Errorf("the form echoed a password")
			}
		})
	}
	if p := phone.get("/account"); p.status != http.StatusOK {
		t.Fatalf("a failed change signed the phone out: %d", p.status)
	}

	p := me.post("/account/password", form("current_password", testPassword, "new_password", newPassword))
	wantRedirect(t, "POST /account/password", p, "/account?notice=password-changed")
	if len(p.cookies) != 0 {
		t.Errorf("password change set cookies %v; this session stays as it is", describe(p.cookies))
	}
	wantRedirect(t, "phone after the change", phone.get("/account"), "/login")
	page := me.get("/account?notice=password-changed")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Every other device was signed out.") || !strings.Contains(page.body, "password changed") {
		t.Fatalf("account page after the change = %d:\n%s", page.status, page.body)
	}
	if p := e.browser(uaFirefox).login("ann@example.com", testPassword); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("login with the old password = %d, want 422", p.status)
	}
	wantRedirect(t, "login with the new password", e.browser(uaFirefox).login("ann@example.com", newPassword), "/account")
}

// TestEndedReasons: each way a session ends reads as words on the page.
func TestEndedReasons(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	ctx := t.Context()
	login := func() *latch.Grant {
		g, err := e.svc.Login(ctx, "ann@example.com", testPassword, latch.Device{IP: "192.0.2.7", UserAgent: uaSafari})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	me := e.browser(uaFirefox)
	me.mustLogin("ann@example.com")

	g := login()
	if err := e.svc.AdminRevokeSession(ctx, g.Session.ID); err != nil {
		t.Fatal(err)
	}
	g = login()
	p, err := e.svc.Authenticate(ctx, g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, p, latch.ScopeCurrent, latch.Device{}); err != nil {
		t.Fatal(err)
	}
	login() // will expire
	e.clock.Advance(8 * 24 * time.Hour)
	if p := me.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("idle session still live after 8 days: %d", p.status) // idle timeout is 7 days
	}
	me.mustLogin("ann@example.com")
	body := me.get("/account").body
	for _, w := range []string{`<span class="why">signed out by an administrator</span> · <time`, `<span class="why">signed out</span> · <time`, `<span class="why">expired</span> · <time`, "192.0.2.7", ">8 days ago</time>", ">1 day ago</time>"} {
		if !strings.Contains(body, w) {
			t.Errorf("account page lacks %q", w)
		}
	}
}

// Signing in again in the same browser ends the session its old cookies
// held: the devices list shows no session that nobody holds.
func TestSignInAgainEndsOldSession(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	me := e.browser(uaFirefox)
	me.mustLogin("ann@example.com")
	first := sessionOf(t, me.access())
	me.mustLogin("ann@example.com")
	second := sessionOf(t, me.access())
	if first == second {
		t.Fatal("second sign-in reused the session")
	}
	if s := e.session(first); !s.Revoked() || s.RevokeReason != latch.ReasonLogout {
		t.Fatalf("replaced session: revoked=%v reason=%q, want ended with logout", s.Revoked(), s.RevokeReason)
	}
	if s := e.session(second); s.Revoked() {
		t.Fatal("the new session was ended")
	}
	if p := me.get("/account"); strings.Contains(p.body, "Sign out everywhere else") {
		t.Error("account page offers to sign out other devices, but there are none")
	}
}
