package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsNeverLeak runs every flow, API and pages, successes and
// failures, with known passwords and the tokens latch hands out, on a
// server logging as text and one logging JSON. Then it searches every log
// line, every response body and header, and the database files with their
// WAL for each secret in every form a careless program might write it
// (raw, JSON-escaped, URL-encoded, and the parts of a token). A token may
// appear only in the response that issued it; a password nowhere.
func TestSecretsNeverLeak(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) { leakRun(t, format) })
	}
}

type exchange struct {
	text   string // status line, headers, body
	issued []string
}

func leakRun(t *testing.T, format string) {
	dir := t.TempDir()
	base, logs, stop := startServe(t, dir, "--log-format", format, "--log-level", "debug")
	// Passwords with characters that JSON, HTML and URL encoding change.
	pw1, pw2, wrong := `pa<ss>&"word one`, `second pass+word/é`, `wrong <guess> & "try"`
	passwords := []string{pw1, pw2, wrong, "Iloveyou1"}
	var (
		log     []exchange
		secrets []string
	)
	send := func(c *http.Client, method, path, ctype, body, tok string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var head bytes.Buffer
		resp.Header.Write(&head)
		ex := exchange{text: resp.Status + "\n" + head.String() + "\n" + string(b)}
		var m map[string]any
		json.Unmarshal(b, &m)
		for _, k := range []string{"access_token", "refresh_token"} {
			if s, ok := m[k].(string); ok {
				ex.issued = append(ex.issued, s)
			}
		}
		for _, ck := range resp.Cookies() {
			if ck.Value != "" {
				ex.issued = append(ex.issued, ck.Value)
			}
		}
		secrets = append(secrets, ex.issued...)
		log = append(log, ex)
		return resp.StatusCode, m
	}
	j := "application/json"
	api := http.DefaultClient
	cred := func(email, pw string) string {
		b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
		return string(b)
	}

	// The API, with failures.
	_, s := send(api, "POST", "/v1/signup", j, cred("leak@example.com", pw1), "")
	at, rt := s["access_token"].(string), s["refresh_token"].(string)
	send(api, "POST", "/v1/signup", j, cred("leak@example.com", pw1), "")          // taken
	send(api, "POST", "/v1/signup", j, cred("other@example.com", "Iloveyou1"), "") // common
	send(api, "POST", "/v1/signup", j, `{"email":"x@example.com","password":"`+pw1, "")
	send(api, "POST", "/v1/login", j, cred("leak@example.com", wrong), "")
	send(api, "POST", "/v1/login", j, cred("nobody@example.com", wrong), "")
	_, l := send(api, "POST", "/v1/login", j, cred("leak@example.com", pw1), "")
	at2, rt2 := l["access_token"].(string), l["refresh_token"].(string)
	send(api, "GET", "/v1/me", "", "", at)
	send(api, "GET", "/v1/sessions", "", "", at)
	send(api, "GET", "/v1/me", "", "", at+"x")
	send(api, "GET", "/v1/me", "", "", rt)
	send(api, "POST", "/v1/refresh", j, `{"refresh_token":"`+rt+`x"}`, "")
	_, r := send(api, "POST", "/v1/refresh", j, `{"refresh_token":"`+rt+`"}`, "")
	_ = r
	pwBody := func(cur, next string) string {
		b, _ := json.Marshal(map[string]string{"current_password": cur, "new_password": next})
		return string(b)
	}
	send(api, "POST", "/v1/password", j, pwBody(wrong, pw2), at2)
	send(api, "POST", "/v1/password", j, pwBody(pw1, "Iloveyou1"), at2)
	send(api, "POST", "/v1/password", j, pwBody(pw1, pw2), at2)
	for range 6 { // into the limits
		send(api, "POST", "/v1/login", j, cred("leak@example.com", wrong), "")
	}
	send(api, "POST", "/v1/refresh", j, `{"refresh_token":"`+rt2+`"}`, "")
	send(api, "POST", "/v1/logout?scope=all", "", "", at2)

	// The pages, with failures.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := func(v url.Values) string { return v.Encode() }
	f := "application/x-www-form-urlencoded"
	send(browser, "POST", "/signup", f, form(url.Values{"email": {"page@example.com"}, "password": {"short"}}), "")
	send(browser, "POST", "/signup", f, form(url.Values{"email": {"page@example.com"}, "password": {pw1}}), "")
	send(browser, "GET", "/account", "", "", "")
	send(browser, "POST", "/account/password", f, form(url.Values{"current_password": {wrong}, "new_password": {pw2}}), "")
	send(browser, "POST", "/account/password", f, form(url.Values{"current_password": {pw1}, "new_password": {pw2}}), "")
	send(browser, "POST", "/logout", f, "", "")
	send(browser, "POST", "/login", f, form(url.Values{"email": {"page@example.com"}, "password": {wrong}}), "")
	send(browser, "POST", "/login", f, form(url.Values{"email": {"page@example.com"}, "password": {pw2}}), "")
	send(browser, "GET", "/account", "", "", "")
	stop()

	// Every form of every secret.
	type needle struct {
		what string
		b    []byte
	}
	var needles []needle
	addForms := func(what, s string) {
		forms := map[string]bool{s: true, url.QueryEscape(s): true, url.PathEscape(s): true}
		j, _ := json.Marshal(s)
		forms[string(j[1:len(j)-1])] = true
		jh := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(string(j[1 : len(j)-1]))
		forms[jh] = true
		forms[fmt.Sprintf("%q", s)[1:len(fmt.Sprintf("%q", s))-1]] = true
		for f := range forms {
			needles = append(needles, needle{what, []byte(f)})
		}
		if strings.HasPrefix(s, "latch_rt_") {
			raw, _ := base64.RawURLEncoding.DecodeString(s[len("latch_rt_"):])
			needles = append(needles, needle{what + " (body)", []byte(s[len("latch_rt_"):])}, needle{what + " (secret)", raw[25:57]}, needle{what + " (tag)", raw[57:]})
		} else if i := strings.LastIndexByte(s, '.'); i > 0 {
			needles = append(needles, needle{what + " (signature)", []byte(s[i+1:])})
		}
	}
	for i, p := range passwords {
		addForms(fmt.Sprintf("password %d", i), p)
	}
	for i, s := range secrets {
		addForms(fmt.Sprintf("token %d", i), s)
	}
	if len(secrets) < 10 {
		t.Fatalf("only %d tokens issued: the flows did not run", len(secrets))
	}

	var files []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, _ := os.ReadFile(filepath.Join(dir, "latch.db"+suffix))
		files = append(files, b...)
	}
	logText := []byte(logs.String())
	if !bytes.Contains(logText, []byte("login_failed")) || (format == "json" && !bytes.Contains(logText, []byte(`"msg":"request"`))) {
		t.Fatalf("the log does not look like a %s log of these flows:\n%.2000s", format, logText)
	}
	for _, n := range needles {
		if bytes.Contains(logText, n.b) {
			t.Errorf("%s found in the %s log", n.what, format)
		}
		if bytes.Contains(files, n.b) {
			t.Errorf("%s found in the database files", n.what)
		}
		for i, ex := range log {
			if !strings.Contains(ex.text, string(n.b)) {
				continue
			}
			legit := false
			for _, s := range ex.issued {
				legit = legit || strings.Contains(s, string(n.b)) && strings.HasPrefix(n.what, "token")
			}
			if !legit {
				t.Errorf("%s found in response %d:\n%.400s", n.what, i, ex.text)
			}
		}
	}
}
