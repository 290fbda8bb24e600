package latch

import (
	"testing"
	"time"
)

// The in-process counters follow the same GCRA step as the stores
// (storetest.testLimits).
func TestMemLimitsSemantics(t *testing.T) {
	st := newMemLimits()
	now := time.UnixMilli(1_800_000_000_000)
	k := LimitKey{1}
	steps := []struct {
		at     time.Duration
		wantOK bool
		want   time.Duration
	}{
		{0, true, 10 * time.Second},
		{0, true, 20 * time.Second},
		{0, true, 30 * time.Second},
		{0, false, 30 * time.Second},
		{10 * time.Second, true, 40 * time.Second},
		{time.Hour, true, time.Hour + 10*time.Second},
	}
	for i, s := range steps {
		got, ok, err := st.ChargeLimit(t.Context(), k, now.Add(s.at), 10*time.Second, 30*time.Second)
		if err != nil || ok != s.wantOK || !got.Equal(now.Add(s.want)) {
			t.Fatalf("step %d: ChargeLimit = %v, %v, %v; want %v, %v", i, got.Sub(now), ok, err, s.want, s.wantOK)
		}
	}
	if n, _ := st.PruneLimits(t.Context(), now.Add(2*time.Hour)); n != 1 {
		t.Fatalf("PruneLimits = %d", n)
	}
}

func TestIPSubject(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "192.0.2.1", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::9": "2001:db8:1:2::/64", "fe80::1%eth0": "fe80::/64", "": "raw:", "junk": "raw:junk",
	} {
		if got := ipSubject(in); got != want {
			t.Errorf("ipSubject(%q) = %q, want %q", in, got, want)
		}
	}
}
