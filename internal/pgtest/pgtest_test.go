package pgtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// TestNewDatabase checks that two databases are separate and usable.
func TestNewDatabase(t *testing.T) {
	t.Parallel()
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatalf("NewDatabase returned %q twice", a)
	}
	for _, u := range []string{a, b} {
		conn, err := pgx.Connect(t.Context(), u)
		if err != nil {
			t.Fatalf("connect %s: %v", u, err)
		}
		if _, err := conn.Exec(t.Context(), `CREATE TABLE only_here (x int)`); err != nil {
			t.Errorf("%s: create table: %v", u, err)
		}
		conn.Close(t.Context())
	}
}

// TestMissingBinaries runs this test binary again with no PostgreSQL to
// find: a test that needs a database skips, unless LATCH_REQUIRE_POSTGRES=1
// makes it fail.
func TestMissingBinaries(t *testing.T) {
	t.Parallel()
	if os.Getenv("PGTEST_CHILD") == "1" {
		t.Skip("the child runs TestNeedsDatabase only")
	}
	for _, tc := range []struct {
		require string
		want    string
		fails   bool
	}{
		{"", "--- SKIP: TestNeedsDatabase", false},
		{"1", "--- FAIL: TestNeedsDatabase", true},
	} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestNeedsDatabase$", "-test.v")
		cmd.Env = append(os.Environ(), "PGTEST_CHILD=1", "LATCH_PG_BINDIR="+t.TempDir(), "LATCH_REQUIRE_POSTGRES="+tc.require)
		out, err := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) || (err != nil) != tc.fails {
			t.Errorf("LATCH_REQUIRE_POSTGRES=%q without binaries: exit %v, output:\n%s\nwant %q", tc.require, err, out, tc.want)
		}
	}
}

// TestNeedsDatabase is run by TestMissingBinaries in a child process.
func TestNeedsDatabase(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") != "1" {
		t.Skip("run by TestMissingBinaries")
	}
	NewDatabase(t)
}

func BenchmarkNewDatabase(b *testing.B) {
	start := time.Now()
	for b.Loop() {
		NewDatabase(b)
	}
	b.Logf("%v per database", time.Since(start)/time.Duration(b.N))
}

// TestServerStopStart: a server of the test's own goes away entirely on
// Stop (connections fail) and comes back on Start at the same URL, data
// intact.
func TestServerStopStart(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	u := s.NewDatabase(t)
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if _, err := conn.Exec(t.Context(), `SELECT 1`); err == nil {
		t.Error("a connection survived Stop")
	}
	conn.Close(context.Background())
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded while stopped")
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start = %v", err)
	}
	conn, err = pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatalf("connect after Start: %v", err)
	}
	defer conn.Close(context.Background())
	var x int
	if err := conn.QueryRow(t.Context(), `SELECT x FROM kept`).Scan(&x); err != nil || x != 42 {
		t.Fatalf("after restart: x = %d, %v; want 42", x, err)
	}
}
