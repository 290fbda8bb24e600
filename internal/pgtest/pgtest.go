// Package pgtest starts one throwaway PostgreSQL server per test binary and
// hands each test a fresh, empty database on it, so tests that need
// PostgreSQL can run in parallel against the real thing.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		url := pgtest.NewDatabase(t) // skips if PostgreSQL is not installed
//		...
//	}
//
// The server starts on the first NewDatabase call, listens only on a unix
// socket in a private temp dir, and is stopped when Main returns. When the
// binaries are missing, NewDatabase skips the test, unless the environment
// sets LATCH_REQUIRE_POSTGRES=1 (CI does), which makes that a failure. Any
// other start-up problem always fails.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	mainRunning atomic.Bool
	once        sync.Once
	srv         *server
	admin       *pgxpool.Pool
	startErr    error
	dbCount     atomic.Int64
)

// Main runs the tests of m and then stops the server, if any test started
// it. It calls os.Exit with the tests' exit code.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain with its own clean-up
// (a binary it built, say): it returns the exit code.
func Run(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func shutdown() error {
	if srv == nil {
		return nil
	}
	admin.Close()
	return srv.stop()
}

// Required reports whether a missing PostgreSQL fails tests instead of
// skipping them (LATCH_REQUIRE_POSTGRES=1).
func Required() bool { return os.Getenv("LATCH_REQUIRE_POSTGRES") == "1" }

func ensure() error {
	once.Do(func() {
		srv, startErr = start()
		if startErr != nil {
			return
		}
		admin, startErr = pgxpool.New(context.Background(), srv.url)
		if startErr != nil {
			srv.stop()
			srv = nil
		}
	})
	return startErr
}

// NewDatabase creates an empty database for t and returns its URL
// (postgres://postgres@/NAME?host=SOCKETDIR). The database is dropped when
// t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain, so the server is stopped after the tests")
	}
	if err := ensure(); err != nil {
		if err == errNoBinaries && !Required() {
			t.Skip(err.Error())
		}
		t.Fatal(err)
	}
	name := fmt.Sprintf("test_%d", dbCount.Add(1))
	if _, err := admin.Exec(t.Context(), `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends connections a test leaked; the test has failed or
		// leaked on purpose (a store already closed is the normal case).
		if _, err := admin.Exec(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return (&urlParts{dir: srv.dir, db: name}).String()
}

// urlParts builds a connection URL for a unix socket directory.
type urlParts struct {
	dir, db string
}

func (p *urlParts) String() string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + p.db}
	u.RawQuery = url.Values{"host": {p.dir}, "sslmode": {"disable"}}.Encode()
	return u.String()
}
