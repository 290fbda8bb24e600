package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/server"
)

func TestPublicPages(t *testing.T) {
	e := newEnv(t, false)
	tests := []struct {
		path, title string
		want        []string
	}{
		{"/login", "<title>Sign in · latch</title>", []string{`<label for="login-email">Email</label>`, `autocomplete="current-password"`, `href="/signup"`}},
		{"/signup", "<title>Create an account · latch</title>", []string{`<label for="signup-password">Password</label>`, `autocomplete="new-password"`, `aria-describedby="signup-password-hint"`}},
		{"/login?notice=signed-out", "<title>Sign in · latch</title>", []string{`role="status">You are signed out.</p>`}},
		{"/login?notice=<script>", "<title>Sign in · latch</title>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := e.browser(uaFirefox).get(tt.path)
			if p.status != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", tt.path, p.status)
			}
			for _, w := range append(tt.want, tt.title, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
				if !strings.Contains(p.body, w) {
					t.Errorf("GET %s: body lacks %s", tt.path, w)
				}
			}
			if strings.Contains(p.body, "<script") {
				t.Errorf("GET %s: page contains a script element", tt.path)
			}
			csp := p.header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("GET %s: Content-Security-Policy %q lacks %q", tt.path, csp, d)
				}
			}
			if got := p.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q", tt.path, got)
			}
			if len(p.cookies) != 0 {
				t.Errorf("GET %s set cookies %v; public pages set none", tt.path, describe(p.cookies))
			}
		})
	}
}

func TestSignup(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("taken@example.com")
	tests := []struct {
		name        string
		vals        url.Values
		contentType string
		status      int
		want        []string // in the body
	}{
		{"bad email", form("email", "not-an-email", "password", testPassword), "", http.StatusUnprocessableEntity,
			[]string{`id="signup-email-error">Email is not a valid address.</p>`, `aria-invalid="true" autofocus`, `value="not-an-email"`}},
		{"missing email", form("password", testPassword), "", http.StatusUnprocessableEntity,
			[]string{`id="signup-email-error">Enter your email.</p>`, `aria-describedby="signup-email-error"`}},
		{"short password", form("email", "new@example.com", "password", "short"), "", http.StatusUnprocessableEntity,
			[]string{`id="signup-password-error">Password must be at least 8 characters, not counting spaces.</p>`, `aria-describedby="signup-password-hint signup-password-error"`}},
		{"taken email", form("email", "Taken@Example.com", "password", testPassword), "", http.StatusConflict,
			[]string{`An account with this email already exists. Sign in instead.`}},
		{"not a form", form("email", "new@example.com", "password", testPassword), "application/json", http.StatusBadRequest,
			[]string{"The form could not be read."}},
		{"too large", form("email", "new@example.com", "password", strings.Repeat("x", 20<<10)), "", http.StatusBadRequest,
			[]string{"The form could not be read."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(uaFirefox)
			h := http.Header{"Origin": {e.url}, "Sec-Fetch-Site": {"same-origin"}}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			p := b.postWith("/signup", tt.vals, h)
			if p.status != tt.status {
				t.Fatalf("POST /signup = %d, want %d; body:\n%s", p.status, tt.status, p.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("POST /signup: body lacks %s; body:\n%s", w, p.body)
				}
			}
			if pw := tt.vals.Get("password"); pw != "" && strings.Contains(p.body, pw) {
				t.Errorf("POST /signup echoed the password")
			}
			if len(p.cookies) != 0 {
				t.Errorf("failed POST /signup set cookies %v", describe(p.cookies))
			}
		})
	}

	t.Run("success", func(t *testing.T) {
		b := e.browser(uaFirefox)
		wantRedirect(t, "POST /signup", b.signup("fresh@example.com"), "/account")
		if b.access() == "" || b.refresh() == "" {
			t.Fatalf("signup set cookies %v, want both auth cookies", describe(b.received))
		}
		p := b.get("/account")
		if p.status != http.StatusOK || !strings.Contains(p.body, "fresh@example.com") {
			t.Fatalf("GET /account after signup = %d; body:\n%s", p.status, p.body)
		}
	})
}

func TestLogin(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	e.signupUser("off@example.com")
	if err := e.svc.SetUserDisabled(t.Context(), "off@example.com", true); err != nil {
		t.Fatal(err)
	}
	const incorrect = `<p class="alert" role="alert" id="login-error">Email or password is incorrect.</p>`
	tests := []struct {
		name, email, password string
		status                int
		want                  string
	}{
		{"wrong password", "ann@example.com", "wrong password!", http.StatusUnprocessableEntity, incorrect},
		{"unknown email", "nobody@example.com", "wrong password!", http.StatusUnprocessableEntity, incorrect},
		{"empty email", "", testPassword, http.StatusUnprocessableEntity, `id="login-email-error">Enter your email.</p>`},
		{"empty password", "ann@example.com", "", http.StatusUnprocessableEntity, `id="login-password-error">Enter your password.</p>`},
		{"disabled account", "off@example.com", testPassword, http.StatusForbidden, "This account is disabled."},
	}
	bodies := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.browser(uaFirefox).login(tt.email, tt.password)
			if p.status != tt.status || !strings.Contains(p.body, tt.want) {
				t.Fatalf("POST /login(%q) = %d, want %d with %s; body:\n%s", tt.email, p.status, tt.status, tt.want, p.body)
			}
			if len(p.cookies) != 0 {
				t.Errorf("failed POST /login set cookies %v", describe(p.cookies))
			}
			bodies[tt.name] = strings.ReplaceAll(p.body, tt.email, "EMAIL")
		})
	}
	// No account enumeration: apart from the echoed address, an unknown
	// email and a wrong password get the very same page.
	if bodies["wrong password"] != bodies["unknown email"] {
		t.Errorf("wrong-password and unknown-email pages differ")
	}
	if !strings.Contains(bodies["wrong password"], `aria-describedby="login-error" aria-invalid="true" autofocus`) {
		t.Errorf("wrong-password page does not tie the password input to the error:\n%s", bodies["wrong password"])
	}

	t.Run("success", func(t *testing.T) {
		b := e.browser(uaFirefox)
		b.mustLogin("ANN@example.com")
		p := b.get("/account")
		if p.status != http.StatusOK || !strings.Contains(p.body, "ann@example.com") {
			t.Fatalf("GET /account = %d; body:\n%s", p.status, p.body)
		}
	})
}

func TestStatic(t *testing.T) {
	e := newEnv(t, false)
	b := e.browser(uaFirefox)
	css := between(b.get("/login").body, `<link rel="stylesheet" href="`, `"`)
	if !strings.HasPrefix(css, "/static/latch-") {
		t.Fatalf("stylesheet link %q", css)
	}
	p := b.get(css)
	if p.status != http.StatusOK || !strings.Contains(p.body, ":focus-visible") || p.header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("GET %s = %d %q", css, p.status, p.header.Get("Content-Type"))
	}
	if cc := p.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("GET %s: Cache-Control %q, want immutable", css, cc)
	}
	for _, path := range []string{"/static/latch.css", "/static/../go.mod", "/static/"} {
		if p := b.get(path); p.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, p.status)
		}
	}
	wantRedirect(t, "GET /", b.get("/"), "/account")
}

// between returns the text after start up to end.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// TestBadForms: a post that is not an HTML form (wrong media type, too
// large, compressed, a field given twice) is a 400 page on every form, and
// nothing happens.
func TestBadForms(t *testing.T) {
	e := newEnv(t, false)
	e.signupUser("ann@example.com")
	b := e.browser(uaFirefox)
	b.mustLogin("ann@example.com")
	big := form("current_password", strings.Repeat("x", 20<<10), "new_password", newPassword)
	for _, path := range []string{"/signup", "/login", "/account/password"} {
		dup := form("email", "ann@example.com", "password", testPassword, "current_password", testPassword, "new_password", newPassword)
		dup["email"] = append(dup["email"], "bob@example.com")
		dup["new_password"] = append(dup["new_password"], "another new password")
		for name, tc := range map[string]struct {
			vals       url.Values
			ct, coding string
		}{
			"json":            {form("email", "ann@example.com", "password", testPassword), "application/json", ""},
			"multipart":       {form("email", "ann@example.com", "password", testPassword), "multipart/form-data; boundary=x", ""},
			"none":            {form("email", "ann@example.com", "password", testPassword), "", ""},
			"too large":       {big, "application/x-www-form-urlencoded", ""},
			"compressed":      {form("email", "ann@example.com", "password", testPassword), "application/x-www-form-urlencoded", "gzip"},
			"duplicate field": {dup, "application/x-www-form-urlencoded", ""},
		} {
			h := http.Header{"Origin": {e.url}, "Sec-Fetch-Site": {"same-origin"}, "Content-Type": {tc.ct}}
			if tc.coding != "" {
				h.Set("Content-Encoding", tc.coding)
			}
			p := b.postWith(path, tc.vals, h)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "The form could not be read.") {
				t.Errorf("POST %s (%s) = %d, want 400", path, name, p.status)
			}
			if len(p.cookies) != 0 {
				t.Errorf("POST %s (%s) set cookies %v", path, name, describe(p.cookies))
			}
		}
	}
	if p := b.get("/account"); p.status != http.StatusOK {
		t.Fatalf("session after bad forms: GET /account = %d", p.status)
	}
}

// TestPagesNeedSafeURL: over plain http on a host that is not loopback the
// cookies could not be Secure, so the server leaves the pages off (and says
// so in its log) while the API keeps working.
func TestPagesNeedSafeURL(t *testing.T) {
	e := newEnv(t, false)
	var logs syncBuffer
	h := server.New(e.svc, e.store, server.Options{PublicURL: "http://auth.example.com", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for path, want := range map[string]int{"/login": http.StatusNotFound, "/account": http.StatusNotFound, "/healthz": http.StatusOK} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("GET %s = %d, want %d", path, w.Code, want)
		}
	}
	if !strings.Contains(logs.String(), "browser pages are off") {
		t.Errorf("no log line says the pages are off:\n%s", logs.String())
	}
}
