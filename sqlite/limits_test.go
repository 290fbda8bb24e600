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

// ChargeLimit applies exactly the GCRA step latch.LimitStore documents.
func TestChargeLimitSemantics(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_800_000_000_000)
	k := latch.LimitKey{1}
	steps := []struct {
		at     time.Duration
		wantOK bool
		want   time.Duration // returned time, relative to now
	}{
		{0, true, 10 * time.Second},                   // missing key counts as now
		{0, true, 20 * time.Second},                   // within the window of 30 s
		{0, true, 30 * time.Second},                   // exactly at the edge: allowed
		{0, false, 30 * time.Second},                  // refused: the stored time comes back unchanged
		{10 * time.Second, true, 40 * time.Second},    // one has drained
		{time.Hour, true, time.Hour + 10*time.Second}, // long idle: from now again
	}
	for i, s := range steps {
		got, ok, err := st.ChargeLimit(t.Context(), k, now.Add(s.at), 10*time.Second, 30*time.Second)
		if err != nil || ok != s.wantOK || !got.Equal(now.Add(s.want)) {
			t.Fatalf("step %d: ChargeLimit = %v, %v, %v; want %v, %v", i, got.Sub(now), ok, err, s.want, s.wantOK)
		}
	}
	if got, err := st.LimitTime(t.Context(), k); err != nil || !got.Equal(now.Add(time.Hour+10*time.Second)) {
		t.Fatalf("LimitTime = %v, %v", got, err)
	}
	if got, err := st.LimitTime(t.Context(), latch.LimitKey{2}); err != nil || !got.IsZero() {
		t.Fatalf("LimitTime of a missing key = %v, %v", got, err)
	}
	if n, err := st.PruneLimits(t.Context(), now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneLimits = %d, %v", n, err)
	}
}
