package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
)

// syncBuffer collects a command's output across goroutines.
type syncBuffer = latchtest.SyncBuffer

// noEnv is an empty environment: tests never see the developer's LATCH_*.
func noEnv(string) string { return "" }

var listenRE = regexp.MustCompile(`msg="latch listening" addr=(\S+)|"msg":"latch listening","addr":"([^"]+)"`)

// startServe runs `latch serve` in dir on a free loopback port and returns
// its base URL and a stop function that waits for a clean exit.
func startServe(t *testing.T, dir string, extra ...string) (base string, logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = new(syncBuffer)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "latch.db")}, extra...)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, noEnv, strings.NewReader(""), io.Discard, logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1] + m[2]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("serve did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return base, logs, stop
}

func call(t *testing.T, method, url, body, tok string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// cli runs a CLI command in dir and returns stdout and the error.
func cli(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb syncBuffer
	args = append(args, "--db", filepath.Join(dir, "latch.db"))
	err := run(t.Context(), args, noEnv, strings.NewReader(stdin), &out, &errb)
	return out.String(), err
}

// The end-to-end story on the real binary's entry point: sign up, use the
// token, restart (sessions and tokens survive), log out (the copied token
// dies), and administer from the CLI while the server runs.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	base, logs, stop := startServe(t, dir)
	code, m := call(t, "POST", base+"/v1/signup", `{"email":"e2e@example.com","password":"correct horse battery"}`, "")
	if code != 201 {
		t.Fatalf("signup = %d %v", code, m)
	}
	at, rt := m["access_token"].(string), m["refresh_token"].(string)
	if code, _ := call(t, "GET", base+"/v1/me", "", at); code != 200 {
		t.Fatalf("me = %d", code)
	}
	if fi, err := os.Stat(filepath.Join(dir, "latch.secret")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v mode %v", err, fi)
	}
	stop()

	// Restart on the same database: the same tokens still work.
	base, logs2, stop := startServe(t, dir)
	if code, _ := call(t, "GET", base+"/v1/me", "", at); code != 200 {
		t.Fatalf("me after restart = %d", code)
	}
	code, m = call(t, "POST", base+"/v1/refresh", `{"refresh_token":"`+rt+`"}`, "")
	if code != 200 {
		t.Fatalf("refresh after restart = %d %v", code, m)
	}
	at2 := m["access_token"].(string)

	// Admin from the CLI while the server runs.
	out, err := cli(t, dir, "", "sessions", "list", "--user", "e2e@example.com")
	if err != nil || !strings.Contains(out, "active") {
		t.Fatalf("sessions list: %v\n%s", err, out)
	}
	// Warm the server's session cache, so the CLI's change must reach it
	// through the revocation follower (it polls the SQLite file every 25ms).
	for range 3 {
		if code, _ := call(t, "GET", base+"/v1/me", "", at2); code != 200 {
			t.Fatalf("me = %d", code)
		}
	}
	if out, err := cli(t, dir, "", "users", "disable", "--email", "e2e@example.com"); err != nil {
		t.Fatalf("users disable: %v %s", err, out)
	}
	disabledAt := time.Now()
	for {
		code, _ := call(t, "GET", base+"/v1/me", "", at2)
		if code == 401 {
			break
		}
		if code != 200 || time.Since(disabledAt) > 2*time.Second {
			t.Fatalf("me after disable = %d after %v, want 401 within the follower's poll interval", code, time.Since(disabledAt))
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("CLI disable took effect on the running server after %v", time.Since(disabledAt))
	if code, m := call(t, "POST", base+"/v1/login", `{"email":"e2e@example.com","password":"correct horse battery"}`, ""); code != 403 || m["code"] != "account_disabled" {
		t.Fatalf("login while disabled = %d %v", code, m)
	}
	if _, err := cli(t, dir, "", "users", "enable", "--email", "e2e@example.com"); err != nil {
		t.Fatal(err)
	}
	code, m = call(t, "POST", base+"/v1/login", `{"email":"e2e@example.com","password":"correct horse battery"}`, "")
	if code != 200 {
		t.Fatalf("login after enable = %d %v", code, m)
	}
	at3 := m["access_token"].(string)
	if code, _ := call(t, "POST", base+"/v1/logout", "", at3); code != 204 {
		t.Fatal("logout", code)
	}
	if code, _ := call(t, "GET", base+"/v1/me", "", at3); code != 401 {
		t.Fatalf("copied token after logout = %d, want 401", code)
	}
	out, _ = cli(t, dir, "", "audit", "--user", "e2e@example.com")
	for _, ev := range []string{"signup", "refresh", "user_disabled", "login_failed", "user_enabled", "logout"} {
		if !strings.Contains(out, ev) {
			t.Errorf("audit lacks %s:\n%s", ev, out)
		}
	}
	stop()
	for _, l := range []string{logs.String(), logs2.String()} {
		for _, secret := range []string{at, rt, at2, at3, "correct horse battery"} {
			if strings.Contains(l, secret) {
				t.Fatalf("a secret leaked into the server log")
			}
		}
	}
	if !strings.Contains(logs2.String(), `route="GET /v1/me"`) || !strings.Contains(logs2.String(), "session_id=") {
		t.Errorf("request log lacks route or session id:\n%s", logs2)
	}
}

// Validation reports every bad field at once.
func TestConfigReportsAllErrors(t *testing.T) {
	var out, errb syncBuffer
	err := run(t.Context(), []string{"serve", "--access-token-ttl", "1s", "--log-format", "xml", "--refresh-reuse-grace", "1h"}, noEnv, strings.NewReader(""), &out, &errb)
	for _, want := range []string{"--access-token-ttl", "--log-format", "--refresh-reuse-grace"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

// Flags override LATCH_* variables, which override defaults.
func TestConfigPrecedence(t *testing.T) {
	env := map[string]string{"LATCH_ACCESS_TOKEN_TTL": "20m", "LATCH_ADDR": "127.0.0.1:9999"}
	e := &environ{getenv: func(k string) string { return env[k] }, stdout: io.Discard, stderr: io.Discard}
	cfg, err := loadConfig(e, "serve", "", []string{"--addr", "127.0.0.1:7777"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AccessTTL != 20*time.Minute || cfg.Addr != "127.0.0.1:7777" || cfg.Issuer != "http://127.0.0.1:7777" || cfg.Audience != cfg.Issuer {
		t.Fatalf("cfg = %+v", cfg)
	}
	if cfg.SecretFile != "latch.secret" {
		t.Errorf("default secret file = %q", cfg.SecretFile)
	}
	env["LATCH_ACCESS_TOKEN_TTL"] = "forever"
	if _, err := loadConfig(e, "serve", "", nil, nil); err == nil || !strings.Contains(err.Error(), "LATCH_ACCESS_TOKEN_TTL") {
		t.Fatalf("bad env value error = %v", err)
	}
}

func TestUsersCreateAndSecretSafety(t *testing.T) {
	dir := t.TempDir()
	if _, err := cli(t, dir, "", "users", "list"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("admin command on a missing database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "latch.db")); err == nil {
		t.Fatal("an admin command created a database")
	}
	if _, err := cli(t, dir, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, dir, "a long enough password\n", "users", "create", "--email", "cli@example.com")
	if err != nil || !strings.Contains(out, "created user cli@example.com") {
		t.Fatalf("users create: %v %s", err, out)
	}
	out, err = cli(t, dir, "", "users", "list")
	if err != nil || !strings.Contains(out, "cli@example.com") {
		t.Fatalf("users list: %v %s", err, out)
	}
	if _, err := cli(t, dir, "short\n", "users", "create", "--email", "x@example.com"); err == nil {
		t.Fatal("short password accepted")
	}
	// A database that knows a secret refuses to run without that secret.
	os.Rename(filepath.Join(dir, "latch.secret"), filepath.Join(dir, "moved.secret"))
	if _, err := cli(t, dir, "", "users", "list"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing secret: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "other.secret"), []byte(strings.Repeat("cd", 32)), 0o600)
	if _, err := cli(t, dir, "", "users", "list", "--secret-file", filepath.Join(dir, "other.secret")); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := cli(t, dir, "", "users", "list", "--secret-file", filepath.Join(dir, "moved.secret")); err != nil {
		t.Fatalf("original secret: %v", err)
	}
}

// The default issuer only suits a loopback server; anything else must name
// its public URL, and a malformed issuer is refused.
func TestIssuerRules(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		issuer  string
	}{
		{[]string{"--addr", "127.0.0.1:9000"}, "", "http://127.0.0.1:9000"},
		{[]string{"--addr", "localhost:9000"}, "", "http://localhost:9000"},
		{[]string{"--addr", "[::1]:9000"}, "", "http://[::1]:9000"},
		{[]string{"--addr", "0.0.0.0:9000"}, "--issuer: is required", ""},
		{[]string{"--addr", ":9000"}, "--issuer: is required", ""},
		{[]string{"--addr", "192.0.2.1:9000"}, "--issuer: is required", ""},
		{[]string{"--addr", "0.0.0.0:9000", "--issuer", "https://auth.example.com"}, "", "https://auth.example.com"},
		{[]string{"--issuer", "https://auth.example.com/"}, "trailing slash", ""},
		{[]string{"--issuer", "https://auth.example.com/?x=1"}, "--issuer", ""},
		{[]string{"--issuer", "ftp://auth.example.com"}, "--issuer", ""},
		{[]string{"--issuer", "https://auth.example.com/tenant"}, "", "https://auth.example.com/tenant"},
	}
	for _, tt := range tests {
		e := &environ{getenv: noEnv, stdout: io.Discard, stderr: io.Discard}
		cfg, err := loadConfig(e, "serve", "", tt.args, nil)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("loadConfig(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || cfg.Issuer != tt.issuer {
			t.Errorf("loadConfig(%q) = issuer %q, %v; want %q", tt.args, cfg.Issuer, err, tt.issuer)
		}
	}
}

func TestPrintableEscapesTerminalControl(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":               "alice@example.com",
		"\x1b]0;pwned\x07\x1b[2J":         `\u001b]0;pwned\u0007\u001b[2J`,
		"a\nFAKE row\tcol":                `a\u000aFAKE row\u0009col`,
		"al\u202eice":                     `al\u202eice`,
		"jürgen":                          "jürgen",
		"Mozilla/5.0 (X11; Linux x86_64)": "Mozilla/5.0 (X11; Linux x86_64)",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// With PostgreSQL every node must be told the one issuer they share.
func TestPostgresServeNeedsIssuer(t *testing.T) {
	var out, errb syncBuffer
	err := run(t.Context(), []string{"serve", "--db", "postgres://latch@127.0.0.1:1/latch", "--secret-file", filepath.Join(t.TempDir(), "s")},
		noEnv, strings.NewReader(""), &out, &errb)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--issuer") {
		t.Fatalf("serve on PostgreSQL without --issuer = %v, want a usage error naming --issuer", err)
	}
}

// Database settings that are not a usable URL never print their password,
// and are refused.
func TestDBSettingsNeverShowPasswords(t *testing.T) {
	for _, db := range []string{
		"POSTGRES://u:hunter2@h/x",
		"db = postgres://u:hunter2@h/x",
		"host=h password=hunter2 dbname=x",
	} {
		var out, errb syncBuffer
		err := run(t.Context(), []string{"serve", "--print-config", "--db", db, "--secret-file", "/nonexistent/s", "--issuer", "http://127.0.0.1:1"}, noEnv, strings.NewReader(""), &out, &errb)
		if strings.Contains(out.String()+errb.String()+fmt.Sprint(err), "hunter2") {
			t.Errorf("--db %q: the password was printed:\n%s%s%v", db, out.String(), errb.String(), err)
		}
	}
	for _, db := range []string{"db = postgres://u:hunter2@h/x", "host=h password=hunter2 dbname=x"} {
		if _, err := loadConfig(&environ{getenv: noEnv, stdout: io.Discard, stderr: io.Discard}, "serve", "", []string{"--db", db}, nil); err == nil {
			t.Errorf("--db %q accepted", db)
		}
	}
}
