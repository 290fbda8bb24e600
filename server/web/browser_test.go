package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/latchauth/latch"
)

// chrome is one real chromium process with its own profile: a separate
// device, sharing no cookies with any other.
type chrome struct {
	t    *testing.T
	e    *env
	name string
	ctx  context.Context
	dir  string // screenshots
}

// stepTimeout bounds every browser step; nothing in these tests sleeps.
const stepTimeout = 20 * time.Second

// chromium finds Debian's chromium. Without it the browser tests skip,
// unless LATCH_REQUIRE_BROWSER=1 (CI), where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("LATCH_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium is not installed and LATCH_REQUIRE_BROWSER=1")
	}
	t.Skip("chromium is not installed (apt-get install chromium); set LATCH_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// artifacts is where screenshots go: $LATCH_ARTIFACTS/browser, or a
// temporary directory. They are never committed.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LATCH_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startChrome launches headless chromium with a fresh profile and with
// every feature that would reach for the network turned off.
func (e *env) startChrome(t *testing.T, exe, name, userAgent, shots string) *chrome {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
	}
	if userAgent != "" {
		opts = append(opts, chromedp.UserAgent(userAgent))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	c := &chrome{t: t, e: e, name: name, ctx: ctx, dir: shots}
	// The first Do starts the browser and binds it to ctx, which has no
	// deadline; the start itself is bounded by a timer that cancels it.
	timer := time.AfterFunc(stepTimeout, cancelTab)
	defer timer.Stop()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: start chromium: %v", name, err)
	}
	return c
}

// do runs actions with a deadline.
func (c *chrome) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.t.Fatalf("%s: %s: %v", c.name, what, err)
	}
}

// run runs one action that returns a value, with a deadline.
func run[T any](c *chrome, what string, a chromedp.Action[T]) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %s: %v", c.name, what, err)
	}
	return v
}

// open loads path and returns where the browser ended up, after redirects.
func (c *chrome) open(path string) string {
	c.t.Helper()
	c.do("open "+path, chromedp.Navigate(c.e.url+path))
	return strings.TrimPrefix(run(c, "location", chromedp.Location()), c.e.url)
}

// submit triggers a form submission and waits for the page it leads to.
func (c *chrome) submit(what string, trigger chromedp.Action[chromedp.Void]) string {
	c.t.Helper()
	run(c, what, chromedp.WaitEvent(cdppage.LoadEventFired, nil, trigger))
	return strings.TrimPrefix(run(c, "location", chromedp.Location()), c.e.url)
}

// text is the visible text of the page's main element.
func (c *chrome) text() string {
	c.t.Helper()
	return run(c, "read main", chromedp.Text(chromedp.CSS("main")))
}

// login fills the sign-in form like a person and lands on /account.
func (c *chrome) login(email, pw string) {
	c.t.Helper()
	if at := c.open("/login"); at != "/login" {
		c.t.Fatalf("%s: /login redirected to %s", c.name, at)
	}
	c.do("fill sign-in", chromedp.SendKeys(chromedp.ID("login-email"), email), chromedp.SendKeys(chromedp.ID("login-password"), pw))
	if at := c.submit("sign in", chromedp.Click(chromedp.CSS("#login button[type=submit]"))); at != "/account" {
		c.t.Fatalf("%s: signing in landed on %s, want /account:\n%s", c.name, at, c.text())
	}
}

// cookies are the browser's cookies for latch, HttpOnly ones included (a
// thief with the profile on disk, or malware, has them too).
func (c *chrome) cookies() []*network.Cookie {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{c.e.url}})
	if err != nil {
		c.t.Fatalf("%s: read cookies: %v", c.name, err)
	}
	return res.Cookies
}

// setCookie plants a cookie as the server would have set it.
func (c *chrome) setCookie(ck *network.Cookie) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: ck.Name, Value: ck.Value, URL: c.e.url, Path: "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteLax,
		Expires: cdp.TimeSinceEpoch(ck.Expires),
	})
	if err != nil {
		c.t.Fatalf("%s: set cookie %s: %v", c.name, ck.Name, err)
	}
}

// shoot saves full-page PNGs at desktop and phone widths.
func (c *chrome) shoot(name string) {
	c.t.Helper()
	for _, v := range []struct {
		label         string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"desktop", 1280, 900, nil},
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}},
	} {
		c.do("viewport "+v.label, chromedp.EmulateViewport(v.width, v.height, v.opts...))
		png := run(c, "screenshot", chromedp.FullScreenshot(100))
		file := filepath.Join(c.dir, name+"-"+v.label+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
	c.do("reset viewport", chromedp.EmulateViewport(1280, 900))
}

// wantText fails unless the page's main text, as rendered (CSS may
// upper-case a badge), contains every string, ignoring case.
func (c *chrome) wantText(what string, want ...string) {
	c.t.Helper()
	got := c.text()
	for _, w := range want {
		if !strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
			c.t.Fatalf("%s: %s: page lacks %q:\n%s", c.name, what, w, got)
		}
	}
}

func sessionOfCookies(t *testing.T, cs []*network.Cookie) latch.SessionID {
	t.Helper()
	for _, c := range cs {
		if c.Name == "latch_at" {
			return sessionOf(t, c.Value)
		}
	}
	t.Fatal("no access cookie")
	return ""
}
