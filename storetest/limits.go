package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch"
)

// testLimits pins the GCRA step latch.LimitStore documents, and that
// concurrent charges (other nodes) cannot both take a limit's last slot.
func testLimits(t *testing.T, st latch.Store) {
	ls, ok := st.(latch.LimitStore)
	if !ok {
		t.Skip("store does not implement latch.LimitStore")
	}
	now := time.UnixMilli(1_800_000_000_000)
	k := latch.LimitKey{1}
	steps := []struct {
		at     time.Duration
		wantOK bool
		want   time.Duration // returned time, relative to now
	}{
		{0, true, 10 * time.Second},                   // a missing key counts as now
		{0, true, 20 * time.Second},                   // within the 30 s window
		{0, true, 30 * time.Second},                   // exactly at the edge: allowed
		{0, false, 30 * time.Second},                  // refused: the stored time comes back unchanged
		{10 * time.Second, true, 40 * time.Second},    // one has drained
		{time.Hour, true, time.Hour + 10*time.Second}, // long idle: from now again
	}
	for i, s := range steps {
		got, ok, err := ls.ChargeLimit(t.Context(), k, now.Add(s.at), 10*time.Second, 30*time.Second)
		if err != nil || ok != s.wantOK || !got.Equal(now.Add(s.want)) {
			t.Fatalf("step %d: ChargeLimit = %v, %v, %v; want %v, %v", i, got.Sub(now), ok, err, s.want, s.wantOK)
		}
	}
	if got, err := ls.LimitTime(t.Context(), k); err != nil || !got.Equal(now.Add(time.Hour+10*time.Second)) {
		t.Fatalf("LimitTime = %v, %v", got, err)
	}
	if got, err := ls.LimitTime(t.Context(), latch.LimitKey{2}); err != nil || !got.IsZero() {
		t.Fatalf("LimitTime of a missing key = %v, %v", got, err)
	}
	if n, err := ls.PruneLimits(t.Context(), now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneLimits = %d, %v", n, err)
	}
	must(t, "ResetLimit", ls.ResetLimit(t.Context(), latch.LimitKey{3}))

	// A negative cost refunds: charge to the edge, refund one, charge again.
	rk := latch.LimitKey{5}
	for range 3 {
		ls.ChargeLimit(t.Context(), rk, now, 10*time.Second, 30*time.Second)
	}
	if _, ok, _ := ls.ChargeLimit(t.Context(), rk, now, 10*time.Second, 30*time.Second); ok {
		t.Fatal("a full limit took a fourth event")
	}
	if got, ok, err := ls.ChargeLimit(t.Context(), rk, now, -10*time.Second, 30*time.Second); err != nil || !ok || !got.Equal(now.Add(20*time.Second)) {
		t.Fatalf("refund = %v, %v, %v; want the time back at +20s", got.Sub(now), ok, err)
	}
	if _, ok, _ := ls.ChargeLimit(t.Context(), rk, now, 10*time.Second, 30*time.Second); !ok {
		t.Fatal("after a refund the limit still refuses")
	}

	// 40 concurrent charges against a limit of 5: exactly 5 win.
	var (
		wg  sync.WaitGroup
		won atomic.Int64
	)
	race := latch.LimitKey{4}
	for range 40 {
		wg.Go(func() {
			_, ok, err := ls.ChargeLimit(t.Context(), race, now, time.Second, 5*time.Second)
			if err != nil {
				t.Errorf("ChargeLimit = %v", err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 5 {
		t.Fatalf("%d concurrent charges won a limit of 5", won.Load())
	}
}
