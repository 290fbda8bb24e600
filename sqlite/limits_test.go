package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/latchauth/latch"
	"github.com/latchauth/latch/sqlite"
)

// Limit writes relax durability for themselves only: afterwards the writer
// connection is back at synchronous=FULL (2), which revocations rely on.
func TestLimitWritesRestoreFullSync(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	sync := func() (n int) {
		if err := st.DB().QueryRow(`PRAGMA synchronous`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if sync() != 2 {
		t.Fatal("writer not at synchronous=FULL to begin with")
	}
	now := time.Unix(1_800_000_000, 0)
	var k latch.LimitKey
	for i := range 3 {
		_, ok, err := st.ChargeLimit(t.Context(), k, now, time.Second, 2*time.Second)
		if err != nil || ok != (i < 2) {
			t.Fatalf("charge %d = %v, %v", i, ok, err)
		}
	}
	if err := st.ResetLimit(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PruneLimits(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	if got := sync(); got != 2 {
		t.Fatalf("after limit writes the writer runs synchronous=%d, want FULL (2)", got)
	}
}
