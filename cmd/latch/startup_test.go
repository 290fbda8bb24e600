package main

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/pgtest"
	"github.com/latchauth/latch/postgres"
	"github.com/latchauth/latch/sqlite"
)

// serveOnce runs `latch serve` expecting it to fail at start-up, and
// returns the one-line error and exit status main would produce.
func serveOnce(t *testing.T, args ...string) (line string, code int, logs string) {
	t.Helper()
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, noEnv, strings.NewReader(""), io.Discard, &stderr) }()
	err := <-done
	if err == nil {
		t.Fatalf("serve %q started; want a start-up failure", args)
	}
	return "latch: " + oneLine(err), exitCode(err), stderr.String()
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Start-up fails with exit status 1 and one line naming the problem when
// the database cannot be reached or was migrated by a newer latch.
func TestStartupFailures(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "latch.secret")
	os.WriteFile(secret, []byte(strings.Repeat("ab", 32)), 0o600)

	newerSQLite := func(t *testing.T) string {
		db := filepath.Join(t.TempDir(), "latch.db")
		st, err := sqlite.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Migrate(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`); err != nil {
			t.Fatal(err)
		}
		return db
	}
	newerPostgres := func(t *testing.T) string {
		db := pgtest.NewDatabase(t)
		st, err := postgres.Open(t.Context(), db, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Migrate(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Pool().Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)`); err != nil {
			t.Fatal(err)
		}
		return db
	}
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
		want []string
	}{
		{"sqlite unreachable", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone", "latch.db") }, []string{"gone/latch.db", "unable to open"}},
		{"sqlite newer", newerSQLite, []string{"newer than this latch binary", "9999"}},
		{"postgres unreachable", func(t *testing.T) string {
			return "postgres://latch:" + dbPassword + "@" + closedPort(t) + "/latch?connect_timeout=5"
		}, []string{"refused"}},
		{"postgres newer", newerPostgres, []string{"newer than this latch binary", "9999"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.db(t)
			line, code, logs := serveOnce(t, "--db", db, "--secret-file", secret, "--issuer", "http://latch.test")
			if code != 1 {
				t.Errorf("exit status %d, want 1: %s", code, line)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("error %q does not name the problem (%q)", line, w)
				}
			}
			if strings.Contains(line, "\n") || strings.Contains(line+logs, dbPassword) {
				t.Errorf("error spans lines or shows the password: %q\n%s", line, logs)
			}
			if u, err := url.Parse(db); err == nil && u.Scheme == "postgres" && !strings.Contains(line, u.Hostname()) && u.Hostname() != "" {
				t.Errorf("error %q does not name the database host %s", line, u.Hostname())
			}
			t.Log(line)
		})
	}
}
