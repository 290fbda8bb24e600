package pgtest

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// TestNewDatabase checks that two databases are separate and usable.
func TestNewDatabase(t *testing.T) {
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

func BenchmarkNewDatabase(b *testing.B) {
	start := time.Now()
	for b.Loop() {
		NewDatabase(b)
	}
	b.Logf("%v per database", time.Since(start)/time.Duration(b.N))
}
