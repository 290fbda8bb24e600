package pgtest

import (
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
