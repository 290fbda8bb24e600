package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchauth/latch"
)

// TestBrowser drives real chromium against the real server on 127.0.0.1:
// sign up; sign in from a second, separate browser; see two devices; sign
// the other one out; change the password; and replay a stolen refresh
// cookie after rotation, which revokes the session and is shown as
// "suspected token theft" on the next sign-in.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	shots := artifacts(t)
	e := newEnv(t, false)
	desk := e.startChrome(t, exe, "desktop", "", shots)
	phone := e.startChrome(t, exe, "phone", uaSafari, shots)
	const email = "ann@example.com"

	// Sign up, with a mistake first; the keyboard alone submits the form.
	if at := desk.open("/account"); at != "/login" {
		t.Fatalf("signed-out /account led to %s, want /login", at)
	}
	desk.open("/signup")
	desk.shoot("01-signup")
	desk.do("type a short password", chromedp.SendKeys(chromedp.ID("signup-email"), email), chromedp.SendKeys(chromedp.ID("signup-password"), "short"))
	desk.submit("submit with Enter", chromedp.SendKeys(chromedp.ID("signup-password"), kb.Enter))
	desk.wantText("short password", "Password must be at least 8 characters, not counting spaces.")
	attrs := run(desk, "read password input", chromedp.Attributes(chromedp.ID("signup-password")))
	if attrs["aria-invalid"] != "true" || attrs["aria-describedby"] != "signup-password-hint signup-password-error" {
		t.Fatalf("invalid password input attributes %v", attrs)
	}
	if v := run(desk, "email kept", chromedp.Value(chromedp.ID("signup-email"))); v != email {
		t.Fatalf("email field after the error = %q, want it kept", v)
	}
	desk.shoot("02-signup-error")
	desk.do("fix the password", chromedp.SendKeys(chromedp.ID("signup-password"), testPassword))
	if at := desk.submit("sign up", chromedp.SendKeys(chromedp.ID("signup-password"), kb.Enter)); at != "/account" {
		t.Fatalf("sign-up landed on %s:\n%s", at, desk.text())
	}

	// Keyboard focus is visible: Tab from the top reaches the skip link,
	// the brand link, then the email field, drawn with a solid outline.
	phone.open("/login")
	phone.do("tab to the email field", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	focus := run(phone, "focused element", chromedp.Evaluate[[]string](
		`[document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle]`))
	if len(focus) != 2 || focus[0] != "login-email" || focus[1] != "solid" {
		t.Fatalf("after three Tabs: focused %v, want the email field with a solid outline", focus)
	}
	phone.shoot("03-login-focus")

	// A second device signs in; the first sees both, itself marked.
	phone.login(email, testPassword)
	desk.open("/account")
	devices := run(desk, "list devices", chromedp.Nodes(chromedp.CSSAll("ul.devices:not(.ended) > li")))
	if len(devices) != 2 {
		t.Fatalf("account page lists %d live devices, want 2:\n%s", len(devices), desk.text())
	}
	desk.wantText("two devices", "Headless Chrome", "This device", "Safari 17 on iOS 17", "127.0.0.1", "Sign out everywhere else")
	desk.shoot("04-account-two-devices")

	// Sign the phone out from the desktop: its next page load is /login.
	at := desk.submit("sign out the phone", chromedp.Click(chromedp.CSS("ul.devices:not(.ended) li:not(.current) button.danger")))
	if at != "/account?notice=device-signed-out" {
		t.Fatalf("signing out the phone landed on %s", at)
	}
	desk.wantText("after signing out the phone", "That device was signed out.", "signed out from another device")
	if at := phone.open("/account"); at != "/login" {
		t.Fatalf("the signed-out phone's next page load is %s, want /login", at)
	}

	// Changing the password signs the other device out.
	phone.login(email, testPassword)
	desk.open("/account")
	desk.do("fill change-password", chromedp.SendKeys(chromedp.ID("password-current_password"), testPassword),
		chromedp.SendKeys(chromedp.ID("password-new_password"), newPassword))
	if at := desk.submit("change password", chromedp.Click(chromedp.CSS("#password button[type=submit]"))); at != "/account?notice=password-changed" {
		t.Fatalf("changing the password landed on %s:\n%s", at, desk.text())
	}
	desk.wantText("after the password change", "Every other device was signed out.", "password changed")
	if at := phone.open("/account"); at != "/login" {
		t.Fatalf("after the password change the phone's next page load is %s, want /login", at)
	}

	// Theft: someone copies the desktop's cookies. The desktop's browser
	// then refreshes on a page load, rotating the tokens; after the grace
	// window the thief replays the copy.
	stolen := desk.cookies()
	for _, c := range stolen {
		if c.Path != "/" || !c.HTTPOnly || c.Secure || c.SameSite != network.CookieSameSiteLax || c.Session || c.Domain != "127.0.0.1" {
			t.Fatalf("cookie %s stored as Path=%q HttpOnly=%v Secure=%v SameSite=%v session=%v Domain=%q", c.Name, c.Path, c.HTTPOnly, c.Secure, c.SameSite, c.Session, c.Domain)
		}
	}
	if len(stolen) != 2 {
		t.Fatalf("desktop holds %d cookies, want 2", len(stolen))
	}
	sid := sessionOfCookies(t, stolen)
	e.clock.Advance(accessTTL)
	if at := desk.open("/account"); at != "/account" {
		t.Fatalf("refreshing page load led to %s", at)
	}
	if g := e.session(sid).Generation; g != 1 {
		t.Fatalf("generation after the desktop's refresh = %d, want 1", g)
	}
	e.clock.Advance(11 * time.Second)

	thief := e.startChrome(t, exe, "thief", "", shots)
	for _, c := range stolen {
		thief.setCookie(c)
	}
	if at := thief.open("/account"); at != "/login" {
		t.Fatalf("the replayed stolen cookies led to %s, want /login", at)
	}
	if s := e.session(sid); s.RevokeReason != latch.ReasonRefreshReuse {
		t.Fatalf("session after the replay: reason %q, want %q", s.RevokeReason, latch.ReasonRefreshReuse)
	}
	if at := desk.open("/account"); at != "/login" {
		t.Fatalf("the owner's next page load is %s, want /login", at)
	}
	desk.login(email, newPassword)
	desk.wantText("after theft", "signed out: suspected token theft", "password changed")
	desk.shoot("05-account-after-theft")

	// Sign out from the header: the cookies are gone from the browser.
	if at := desk.submit("sign out", chromedp.Click(chromedp.CSS("header form button"))); at != "/login?notice=signed-out" {
		t.Fatalf("signing out landed on %s", at)
	}
	desk.wantText("signed out", "You are signed out.")
	if left := desk.cookies(); len(left) != 0 {
		t.Fatalf("after sign-out the browser still holds %d latch cookies", len(left))
	}
	desk.shoot("06-signed-out")
}
