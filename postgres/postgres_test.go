package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/internal/migrate"
	"github.com/latchauth/latch/internal/pgtest"
	"github.com/latchauth/latch/postgres"
	"github.com/latchauth/latch/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open returns a migrated store on a fresh database, closed when t ends.
func open(t *testing.T, o postgres.Options) (*postgres.Store, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	st, err := postgres.Open(t.Context(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	return st, url
}

// TestStore runs the conformance suite on a fresh database per test.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) latch.Store {
		st, _ := open(t, postgres.Options{})
		return st
	})
}

// TestSchema: a new database is pending; three nodes migrating at once
// take turns and all end current.
func TestSchema(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	var nodes []*postgres.Store
	for range 3 {
		st, err := postgres.Open(t.Context(), url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		nodes = append(nodes, st)
	}
	if err := nodes[0].CheckSchema(t.Context()); !errors.Is(err, migrate.ErrPending) {
		t.Fatalf("CheckSchema on a new database = %v, want ErrPending", err)
	}
	applied := make([]int, len(nodes))
	var wg sync.WaitGroup
	for i, st := range nodes {
		wg.Go(func() {
			var err error
			if applied[i], err = st.Migrate(t.Context(), nil); err != nil {
				t.Errorf("node %d: Migrate = %v", i, err)
			}
		})
	}
	wg.Wait()
	files, _ := fs.Glob(postgres.Migrations(), "*.sql")
	if total := applied[0] + applied[1] + applied[2]; total != len(files) {
		t.Errorf("migrations applied across nodes = %v, want each of the %d migrations applied once", applied, len(files))
	}
	for i, st := range nodes {
		if err := st.CheckSchema(t.Context()); err != nil {
			t.Errorf("node %d: CheckSchema after Migrate = %v", i, err)
		}
	}
}

func TestPoolOptions(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	for _, tc := range []struct {
		name   string
		query  string
		o      postgres.Options
		wantMx int32
	}{
		{"from the URL", "&pool_max_conns=3", postgres.Options{}, 3},
		{"options win", "&pool_max_conns=3", postgres.Options{MaxConns: 7, MinConns: 1}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := postgres.Open(t.Context(), url+tc.query, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if got := st.Pool().Config().MaxConns; got != tc.wantMx {
				t.Errorf("MaxConns = %d, want %d", got, tc.wantMx)
			}
		})
	}
}

// TestOpenErrorsHidePassword: connection and parse failures never quote
// the password.
func TestOpenErrorsHidePassword(t *testing.T) {
	t.Parallel()
	const pw = "Sup3r-Secret-PW"
	for _, url := range []string{
		"postgres://latch:" + pw + "@127.0.0.1:1/latch?connect_timeout=2",
		"postgres://latch@127.0.0.1:1/latch?password=" + pw + "&connect_timeout=2",
		"postgres://latch:" + pw + "@127.0.0.1:1/latch?sslmode=bogus",
		"postgres://latch:" + pw + "@127.0.0.1:notaport/latch",
		"postgresql://latch:" + pw + "@[::1/latch",
	} {
		st, err := postgres.Open(t.Context(), url, postgres.Options{})
		if err == nil {
			st.Close()
			t.Errorf("Open(%s) = nil error", postgres.Redact(url))
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open error quotes the password: %v", err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://latch:pw@db.example:5432/latch?sslmode=require", "postgres://latch:xxxxx@db.example:5432/latch?sslmode=require"},
		{"postgresql://latch@db/latch?password=pw&sslmode=verify-full", "postgresql://latch@db/latch?password=xxxxx&sslmode=verify-full"},
		{"postgres://latch@/latch?host=/run/postgresql", "postgres://latch@/latch?host=/run/postgresql"},
		{"postgres://latch:pw@[::1/latch", "postgres://(unparsable URL, redacted)"},
	} {
		if got := postgres.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestOpenCancelled: a cancelled start-up reports the cancellation, so the
// caller can tell a shutdown from a database failure.
func TestOpenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := postgres.Open(ctx, "postgres://latch:pw@127.0.0.1:1/latch", postgres.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v, want context.Canceled", err)
	}
}
