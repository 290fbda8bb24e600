package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/pgtest"
)

func TestMain(m *testing.M) {
	// TestMainProcess and the signal tests run this binary as latch itself.
	if os.Getenv("LATCH_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	pgtest.Main(m)
}

// dbPassword is put into the PostgreSQL URL (the test server trusts local
// connections and ignores it) to prove it never reaches the logs.
const dbPassword = "Hunter2-db-pw"

// TestServeEachStore runs the real binary's entry point against each store:
// migrate, serve on a loopback port, then sign up, use the access token,
// log out, and see the token refused at once.
func TestServeEachStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "latch.db") }},
		{"postgres", func(t *testing.T) string {
			u, err := url.Parse(pgtest.NewDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(u.User.Username(), dbPassword)
			return u.String()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, secret := tc.db(t), filepath.Join(t.TempDir(), "latch.secret")

			// migrate, with the database from the environment.
			var out, errs bytes.Buffer
			env := map[string]string{"LATCH_DB": db}
			err := run(t.Context(), []string{"migrate", "--secret-file", secret}, func(k string) string { return env[k] },
				strings.NewReader(""), &out, &errs)
			if err != nil || !strings.Contains(out.String(), "applied ") || !strings.Contains(out.String(), " migration(s)") {
				t.Fatalf("latch migrate = %v; stdout %q, stderr %q", err, out.String(), errs.String())
			}
			noPassword(t, "migrate output", out.String()+errs.String())

			base, logs, stop := startServeArgs(t, "--db", db, "--secret-file", secret, "--issuer", "http://latch.test")
			defer func() { noPassword(t, "serve log", logs.String()) }()
			defer stop()

			var grant struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			callWant(t, "POST", base+"/v1/signup", "", `{"email":"ada@example.com","password":"correct horse battery"}`, http.StatusCreated, &grant)
			var me struct {
				Email string `json:"email"`
			}
			callWant(t, "GET", base+"/v1/me", grant.AccessToken, "", http.StatusOK, &me)
			if me.Email != "ada@example.com" {
				t.Errorf("GET /v1/me email = %q", me.Email)
			}
			callWant(t, "POST", base+"/v1/logout", grant.AccessToken, "", http.StatusNoContent, nil)
			callWant(t, "GET", base+"/v1/me", grant.AccessToken, "", http.StatusUnauthorized, nil)
			callWant(t, "POST", base+"/v1/refresh", "", `{"refresh_token":"`+grant.RefreshToken+`"}`, http.StatusUnauthorized, nil)
		})
	}
}

// TestPostgresNeedsSecretFile: with PostgreSQL there is no "beside the
// database" for the secret, so the flag is required and named.
func TestPostgresNeedsSecretFile(t *testing.T) {
	var errs bytes.Buffer
	err := run(t.Context(), []string{"serve", "--db", "postgres://latch:" + dbPassword + "@db.invalid/latch"},
		func(string) string { return "" }, strings.NewReader(""), io.Discard, &errs)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--secret-file") {
		t.Fatalf("serve without --secret-file = %v, want a usage error naming --secret-file", err)
	}
	noPassword(t, "error", err.Error()+errs.String())
}

func noPassword(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, dbPassword) {
		t.Errorf("%s contains the database password:\n%s", what, s)
	}
}

// startServeArgs runs "latch serve" on 127.0.0.1:0 and returns its base URL
// (read from the "latch listening" log line), its log, and a stop function
// that waits for a clean shutdown.
func startServeArgs(t *testing.T, args ...string) (base string, logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	logs = &syncBuffer{}
	done := make(chan error, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--shutdown-timeout", "5s"}, args...)
	go func() {
		done <- run(ctx, args, func(string) string { return "" }, strings.NewReader(""), io.Discard, logs)
	}()
	stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("latch serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("latch serve did not stop within 10s")
		}
	}
	listening := regexp.MustCompile(`msg="latch listening" addr=(127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(logs.String()); m != nil {
			return "http://" + m[1], logs, stop
		}
		select {
		case err := <-done:
			t.Fatalf("latch serve exited before listening: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	t.Fatalf("no listening line within 30s:\n%s", logs.String())
	return "", nil, nil
}

// callWant sends one request and decodes the JSON answer into out, if not nil.
func callWant(t *testing.T, method, url, bearer, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
}
