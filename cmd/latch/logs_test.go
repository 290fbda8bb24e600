package main

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/latchauth/latch/sqlite"
)

// secrets collects every secret a test saw: it is searched for in the logs.
type secrets struct {
	mu   sync.Mutex
	list []string
}

func (s *secrets) add(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			s.list = append(s.list, v)
		}
	}
}

// recordCookies is a real transport that also remembers every cookie value
// the server sets.
type recordCookies struct{ seen *secrets }

func (rc recordCookies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		for _, c := range resp.Cookies() {
			rc.seen.add(c.Value)
		}
	}
	return resp, err
}

// browser posts forms the way a browser on latch's own pages does.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string, seen *secrets) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, Transport: recordCookies{seen}}}
}

func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// api calls the JSON API and records any tokens in the answer.
func api(t *testing.T, seen *secrets, method, url, body, tok string) (int, map[string]any) {
	t.Helper()
	code, m := call(t, method, url, body, tok)
	for _, k := range []string{"access_token", "refresh_token"} {
		if v, ok := m[k].(string); ok {
			seen.add(v)
		}
	}
	return code, m
}

// TestLogsNeverHoldSecrets runs the API and the pages, failures included,
// in both log formats, and then searches everything latch logged (server
// and admin CLI) for every token, cookie value, password, password hash,
// refresh-token hash and the installation secret. It also checks the
// request lines and that each security event is both logged and audited.
func TestLogsNeverHoldSecrets(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "latch.db")
			s := launch(t, "--db", db, "--log-format", format)
			seen := new(secrets)
			const (
				pw1, pw2, pw3 = "first correct horse", "second correct horse", "third correct horse"
				wrongPw       = "wrong-password-guess"
			)
			seen.add(pw1, pw2, pw3, wrongPw)
			cred := func(email, pw string) string {
				return `{"email":"` + email + `","password":"` + pw + `"}`
			}

			// API.
			code, m := api(t, seen, "POST", s.base+"/v1/signup", cred("api@example.com", pw1), "")
			if code != 201 {
				t.Fatalf("signup = %d", code)
			}
			at1, rt1 := m["access_token"].(string), m["refresh_token"].(string)
			api(t, seen, "GET", s.base+"/v1/me", "", at1)
			api(t, seen, "POST", s.base+"/v1/login", cred("api@example.com", wrongPw), "")
			api(t, seen, "POST", s.base+"/v1/login", cred("ghost@example.com", wrongPw), "")
			api(t, seen, "POST", s.base+"/v1/login", `{"email":"api@example.com","password":"`+wrongPw, "") // malformed JSON
			_, m = api(t, seen, "POST", s.base+"/v1/login", cred("api@example.com", pw1), "")
			at2 := m["access_token"].(string)
			sid2 := m["session_id"].(string)
			_, m = api(t, seen, "POST", s.base+"/v1/refresh", `{"refresh_token":"`+rt1+`"}`, "")
			_, m = api(t, seen, "POST", s.base+"/v1/refresh", `{"refresh_token":"`+m["refresh_token"].(string)+`"}`, "")
			if code, _ := api(t, seen, "POST", s.base+"/v1/refresh", `{"refresh_token":"`+rt1+`"}`, ""); code != 401 {
				t.Fatalf("reused refresh = %d", code) // theft: session 1 revoked
			}
			api(t, seen, "GET", s.base+"/v1/me", "", at1)                     // revoked
			api(t, seen, "GET", s.base+"/v1/me", "", at1[:len(at1)-4]+"AAAA") // bad signature
			api(t, seen, "GET", s.base+"/v1/sessions", "", at2)
			api(t, seen, "POST", s.base+"/v1/password", `{"current_password":"`+wrongPw+`","new_password":"`+pw2+`"}`, at2)
			api(t, seen, "POST", s.base+"/v1/password", `{"current_password":"`+pw1+`","new_password":"`+pw2+`"}`, at2)
			_, m = api(t, seen, "POST", s.base+"/v1/login", cred("api@example.com", pw2), "")
			at3 := m["access_token"].(string)
			api(t, seen, "DELETE", s.base+"/v1/sessions/"+sid2, "", at3)
			api(t, seen, "POST", s.base+"/v1/logout", "", at3)

			// Pages.
			b := newBrowser(t, s.base, seen)
			b.do("GET", "/signup", nil)
			if code, _ := b.do("POST", "/signup", url.Values{"email": {"page@example.com"}, "password": {pw1}}); code != 200 {
				t.Fatalf("page signup = %d", code)
			}
			if code, body := b.do("GET", "/account", nil); code != 200 || !strings.Contains(body, "page@example.com") {
				t.Fatalf("account = %d", code)
			}
			b.do("POST", "/account/password", url.Values{"current_password": {wrongPw}, "new_password": {pw3}})
			b.do("POST", "/account/password", url.Values{"current_password": {pw1}, "new_password": {pw3}})
			b.do("POST", "/logout", nil)
			b.do("POST", "/login", url.Values{"email": {"page@example.com"}, "password": {wrongPw}})
			b.do("POST", "/login", url.Values{"email": {"page@example.com"}, "password": {pw3}})
			b.do("GET", "/account", nil)
			req, _ := http.NewRequest("POST", s.base+"/logout", nil) // cross-site: refused
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if resp, err := b.client.Do(req); err == nil {
				resp.Body.Close()
			}

			// Admin CLI, against the running server's database.
			var cliErr syncBuffer
			if err := run(t.Context(), []string{"users", "disable", "--email", "page@example.com", "--db", db, "--log-format", format},
				noEnv, strings.NewReader(""), io.Discard, &cliErr); err != nil {
				t.Fatal(err)
			}
			if err := s.stop(t); err != nil {
				t.Fatal(err)
			}

			// Everything at rest that must not be logged either.
			seen.add(atRest(t, db)...)
			secretText, _ := os.ReadFile(filepath.Join(dir, "latch.secret"))
			seen.add(strings.TrimSpace(string(secretText)))

			logs := s.logs.String() + cliErr.String()
			for _, v := range seen.list {
				if strings.Contains(logs, v) {
					t.Errorf("a secret (%d bytes, starting %.4q) is in the log", len(v), v)
				}
			}
			for _, marker := range []string{"eyJ", "latch_rt_", "$argon2id$"} {
				if strings.Contains(logs, marker) {
					t.Errorf("the log holds something shaped like a secret (%q)", marker)
				}
			}
			checkRequestLines(t, format, s.logs.String())
			checkSecurityEvents(t, format, logs, db)
		})
	}
}

// atRest returns the password hashes and refresh-token hashes (hex) stored.
func atRest(t *testing.T, db string) []string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []string
	collect := func(q string) {
		rows, err := st.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v sql.RawBytes
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, string(v))
		}
	}
	collect(`SELECT password_hash FROM users`)
	collect(`SELECT lower(hex(refresh_hash)) FROM sessions`)
	collect(`SELECT lower(hex(prev_refresh_hash)) FROM sessions WHERE prev_refresh_hash IS NOT NULL`)
	for i, v := range out {
		if _, err := hex.DecodeString(v); err == nil {
			out = append(out, strings.ToUpper(out[i]))
		}
	}
	return out
}

// logLines parses the log into one map per line, for either format.
func logLines(t *testing.T, format, logs string) []map[string]string {
	t.Helper()
	var out []map[string]string
	textAttr := regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)
	for line := range strings.Lines(logs) {
		m := map[string]string{}
		if format == "json" {
			var raw map[string]any
			if err := json.Unmarshal([]byte(line), &raw); err != nil {
				t.Fatalf("a log line is not JSON: %q", line)
			}
			for k, v := range raw {
				m[k] = strings.Trim(string(must(json.Marshal(v))), `"`)
			}
		} else {
			for _, kv := range textAttr.FindAllStringSubmatch(line, -1) {
				m[kv[1]] = strings.Trim(kv[2], `"`)
			}
		}
		out = append(out, m)
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// checkRequestLines: one line per request, with id, method, route, status
// and duration, and the session and user wherever the session is known.
func checkRequestLines(t *testing.T, format, logs string) {
	t.Helper()
	withSession := map[string]bool{}
	n := 0
	for _, l := range logLines(t, format, logs) {
		if l["msg"] != "request" {
			continue
		}
		n++
		for _, k := range []string{"request_id", "method", "route", "status", "duration"} {
			if l[k] == "" && !(k == "route" && l["status"] == "404") {
				t.Errorf("request line lacks %s: %v", k, l)
			}
		}
		key := l["route"] + " " + l["status"]
		if l["session_id"] != "" && l["user_id"] != "" {
			withSession[key] = true
		}
	}
	if n < 25 {
		t.Errorf("only %d request lines", n)
	}
	for _, key := range []string{
		"POST /v1/signup 201", "POST /v1/login 200", "POST /v1/refresh 200", "GET /v1/me 200", "GET /v1/sessions 200",
		"POST /v1/password 204", "POST /v1/logout 204", "DELETE /v1/sessions/{id} 204",
		"POST /signup 303", "POST /login 303", "GET /account 200", "POST /account/password 303", "POST /logout 303",
	} {
		if !withSession[key] {
			t.Errorf("no request line %q with session_id and user_id", key)
		}
	}
}

// checkSecurityEvents: each kind of security event is in the log (with
// audit=true) and in the audit table.
func checkSecurityEvents(t *testing.T, format, logs, db string) {
	t.Helper()
	logged := map[string]bool{}
	for _, l := range logLines(t, format, logs) {
		if l["audit"] == "true" && l["event"] != "" {
			logged[l["event"]+"/"+l["outcome"]] = true
		}
	}
	var out syncBuffer
	if err := run(t.Context(), []string{"audit", "--db", db, "--limit", "1000"}, noEnv, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{
		"login_failed/invalid_credentials", "login/ok", "refresh_reuse_detected/refresh_token_reused", "logout/ok",
		"session_revoked/ok", "password_change/invalid_credentials", "password_change/ok", "user_disabled/ok", "signup/ok",
	} {
		if !logged[ev] {
			t.Errorf("security event %s not logged", ev)
		}
		typ, outcome, _ := strings.Cut(ev, "/")
		if !regexp.MustCompile(`(?m)\s` + typ + `\s+` + outcome + `\s`).MatchString(out.String()) {
			t.Errorf("security event %s not in the audit table:\n%s", ev, out.String())
		}
	}
}
