package web_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// browser is an HTTP client that keeps cookies the way a browser does, by
// name, records every Set-Cookie it is sent, and follows no redirect, so a
// test sees each response. Its form posts carry the headers a browser sends
// with a same-origin post.
type browser struct {
	e        *env
	ua       string
	client   *http.Client
	jar      map[string]string
	received []*http.Cookie // every Set-Cookie, in order
}

// page is one response, body read.
type page struct {
	status   int
	location string
	header   http.Header
	body     string
	cookies  []*http.Cookie // this response's Set-Cookie lines
}

const (
	uaFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
	uaSafari  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)

func (e *env) browser(ua string) *browser {
	c := *e.srv.Client()
	c.Jar = nil
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, ua: ua, client: &c, jar: map[string]string{}}
}

// Cookie names for this env's scheme.
func (e *env) accessName() string  { return e.prefix() + "latch_at" }
func (e *env) refreshName() string { return e.prefix() + "latch_rt" }
func (e *env) prefix() string {
	if strings.HasPrefix(e.url, "https:") {
		return "__Host-"
	}
	return ""
}

func (b *browser) get(path string) *page {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodGet, b.e.url+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.send(req)
}

// post sends a form as a same-origin page of latch would.
func (b *browser) post(path string, vals url.Values) *page {
	b.e.t.Helper()
	return b.postWith(path, vals, http.Header{"Origin": {b.e.url}, "Sec-Fetch-Site": {"same-origin"}})
}

// postWith sends a form with exactly the given fetch-metadata headers.
func (b *browser) postWith(path string, vals url.Values, h http.Header) *page {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodPost, b.e.url+path, strings.NewReader(vals.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range h {
		req.Header[k] = v
	}
	return b.send(req)
}

func (b *browser) send(req *http.Request) *page {
	b.e.t.Helper()
	req.Header.Set("User-Agent", b.ua)
	names := make([]string, 0, len(b.jar))
	for n := range b.jar {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		req.AddCookie(&http.Cookie{Name: n, Value: b.jar[n]})
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	p := &page{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(body)}
	for _, line := range resp.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			b.e.t.Fatalf("unparsable Set-Cookie from %s: %v", req.URL.Path, err)
		}
		p.cookies = append(p.cookies, c)
		b.received = append(b.received, c)
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
			continue
		}
		b.jar[c.Name] = c.Value
		b.e.secrets.Store(c.Value, true)
	}
	return p
}

func (b *browser) signup(email string) *page {
	b.e.t.Helper()
	return b.post("/signup", form("email", email, "password", testPassword))
}

func (b *browser) login(email, pw string) *page {
	b.e.t.Helper()
	p := b.post("/login", form("email", email, "password", pw))
	return p
}

// mustLogin signs in and fails the test unless it lands on /account.
func (b *browser) mustLogin(email string) {
	b.e.t.Helper()
	if p := b.login(email, testPassword); p.status != http.StatusSeeOther || p.location != "/account" {
		b.e.t.Fatalf("POST /login = %d to %q, want 303 to /account; body:\n%s", p.status, p.location, p.body)
	}
}

func (b *browser) access() string  { return b.jar[b.e.accessName()] }
func (b *browser) refresh() string { return b.jar[b.e.refreshName()] }

// clone copies the cookie jar: a thief who copied the browser's cookies.
func (b *browser) clone(ua string) *browser {
	c := b.e.browser(ua)
	for k, v := range b.jar {
		c.jar[k] = v
	}
	return c
}

// wantRedirect fails unless p is a 303 to location.
func wantRedirect(t *testing.T, what string, p *page, location string) {
	t.Helper()
	if p.status != http.StatusSeeOther || p.location != location {
		t.Fatalf("%s = %d to %q, want 303 to %q; body:\n%.600s", what, p.status, p.location, location, p.body)
	}
}

// wantCleared fails unless p expired both auth cookies.
func wantCleared(t *testing.T, e *env, what string, p *page) {
	t.Helper()
	cleared := map[string]bool{}
	for _, c := range p.cookies {
		if c.MaxAge < 0 && c.Value == "" {
			cleared[c.Name] = true
		}
	}
	if !cleared[e.accessName()] || !cleared[e.refreshName()] {
		t.Fatalf("%s: Set-Cookie for %v, want both auth cookies expired", what, describe(p.cookies))
	}
}

// describe lists cookies without their values: test output is a log too.
func describe(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name+" (Max-Age "+strconv.Itoa(c.MaxAge)+")")
	}
	return out
}
